"""The process's limit of open files, raised to what the system allows when the service starts.

Every open collection holds files: its SQLite database (with its write-ahead log and shared memory) once
for the writer and once for each thread that has read from it, and its lock file; about nine when a
collection has been written to and searched a few times, more as more of the server's threads read from it
(docs/operations.md, "Many collections"). A shell's or a service manager's default soft limit is often 1,024
(256 on macOS), which about a hundred collections reach (25 on macOS); then SQLite cannot open another file
and requests fail (a 503 that says so: :mod:`index.storage.faults`). The hard limit is usually far higher
(524,288 under systemd, 1,048,576 in a Docker container), and a process may raise its own soft limit up to
it, as Go programs do at start: so the service does, and logs what it did.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

# More is never asked for: a million files is more than any number of collections needs.
CEILING = 1 << 20
# macOS refuses a soft limit over OPEN_MAX (10,240) whatever the hard limit says.
_MACOS_OPEN_MAX = 10_240
# Below this, the log says how to raise the limit.
ENOUGH = 8_192


def raise_open_file_limit(ceiling: int = CEILING) -> tuple[int, int] | None:
    """Raise this process's soft limit of open files to its hard limit (at most ``ceiling``); ``(before,
    after)``, or None where there is no such limit (Windows)."""
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE, and C runtime handles, not descriptors
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinite = resource.RLIM_INFINITY
    wanted = ceiling if hard == infinite else min(hard, ceiling)
    if sys.platform == "darwin":
        wanted = min(wanted, _MACOS_OPEN_MAX)
    after = soft
    if soft != infinite and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            after = wanted
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, wanted, error)
    if after != soft:
        log.info("raised the open-file limit from %d to %d (each open collection holds some)", soft, after)
    if after != infinite and after < ENOUGH:
        log.warning(
            "the open-file limit is %d: enough for about %d collections; raise the hard limit "
            "(ulimit -Hn, LimitNOFILE= under systemd, --ulimit nofile= for a container) for more",
            after,
            after // 10,
        )
    return soft, after
