"""How many CPU cores this process may use.

``os.cpu_count()`` is the machine's count. In a container given ``--cpus=1`` (a CPU quota: Docker, podman,
a Kubernetes CPU limit) or a process pinned to some cores (``taskset``, ``--cpuset-cpus``), it is still the
host's, and a service that sizes its thread pools by it starts a thread per host core, which the quota then
throttles. joblib's ``cpu_count`` (loky's) takes the fewest of the machine's cores, the process's CPU
affinity and its cgroup's CPU quota (v1 and v2, rounded up): everything here that sizes itself by the
machine asks this instead.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path


@functools.cache
def usable_cores() -> int:
    """The cores this process may run on at once: at least 1."""
    import joblib  # a pure-Python import of 15 ms, on first use

    return max(1, int(joblib.cpu_count()))


def machine_cores() -> int:
    """The machine's cores, whatever this process may use of them."""
    return os.cpu_count() or 1


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's features as Linux names them (``/proc/cpuinfo``'s flags: ``avx512f``, ``amx_bf16``...);
    none where that file is not."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return cpuinfo_flags(text)


def cpuinfo_flags(text: str) -> frozenset[str]:
    """The flags of the first processor listed in a ``/proc/cpuinfo`` text."""
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()
