"""The cores a process sizes its thread pools by: its own (CPU affinity, a container's CPU quota), not the
machine's. The quota half is held by the container test, which runs the image with ``--cpus=1``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from index.cores import cpu_flags, cpuinfo_flags, machine_cores, usable_cores

# Run pinned to one core: what the library sizes by it.
PINNED = """
import json, os
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from index.cores import cpu_flags, cpuinfo_flags, machine_cores, usable_cores
from index.encoders.batching import BatchingEmbedder
from index.search_index import _DENSE_HELPERS
from tests.fakes import FakeEmbedder

batching = BatchingEmbedder(FakeEmbedder())
print(json.dumps({
    "usable": usable_cores(),
    "machine": machine_cores(),
    "query_workers": len(batching._workers),
    "dense_helpers": _DENSE_HELPERS._max_workers,
}))
batching.close()
"""


def test_usable_cores_are_between_one_and_the_machines() -> None:
    assert 1 <= usable_cores() <= machine_cores() == (os.cpu_count() or 1)
    assert usable_cores() <= len(os.sched_getaffinity(0))


def test_a_process_pinned_to_one_core_sizes_its_pools_for_one() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PINNED], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {
        "usable": 1,
        "machine": os.cpu_count(),
        "query_workers": 1,
        "dense_helpers": 1,
    }


def test_the_cpu_flags_are_those_of_the_first_processor_listed() -> None:
    cpuinfo = (
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n"
        "bugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    )
    assert cpuinfo_flags(cpuinfo) == {"fpu", "avx512f", "amx_bf16", "amx_tile"}
    assert cpuinfo_flags("processor\t: 0\nFeatures\t: fp asimd\n") == frozenset()  # Arm names them so
    assert cpuinfo_flags("") == frozenset()
    assert isinstance(cpu_flags(), frozenset)
