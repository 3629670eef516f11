"""What kind of filesystem a data directory is on, and refusing the ones SQLite cannot be trusted on.

SQLite's write-ahead log keeps its index in shared memory mapped from a file beside the database, and its
locks are POSIX file locks: on a network filesystem (NFS, SMB, 9p, sshfs, object storage mounted with FUSE)
the locks are emulated or ignored and the mapping is not shared between machines, so two processes can both
believe they may write, or a reader on another machine reads pages half written: "Do not use SQLite over
a network filesystem" (sqlite.org/wal.html, sqlite.org/useovernet.html). A Kubernetes volume of an NFS or
EFS class, or a Docker Desktop bind mount from Windows (9p), is where that happens unnoticed. The index is
not opened there unless its owner says they know (``allow_network_filesystem``; the service's
``SEMSEARCH_ALLOW_NETWORK_FILESYSTEM``).

The filesystem is read from ``/proc/self/mountinfo`` (Linux): the mount whose mount point is the longest that
holds the path, the last of those mounted there. Elsewhere the check is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

from index.errors import SemsearchError

MOUNTINFO = Path("/proc/self/mountinfo")

# Filesystem types (as mountinfo names them) whose locking or shared memory SQLite cannot rely on.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ncpfs",
        "davfs",
        "ceph",
        "glusterfs",
        "lustre",
        "fuse.sshfs",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.goofys",
        "fuse.rclone",
        "fuse.blobfuse",
        "fuse.blobfuse2",
        "fuse.mount-s3",
        "fuse.glusterfs",
        "fuse.juicefs",
    }
)


class NetworkFilesystemError(SemsearchError):
    """The data directory is on a network filesystem, where SQLite may lose or corrupt writes."""


def mount_of(path: str, mountinfo: str) -> tuple[str, str] | None:
    """The mount point and filesystem type that ``path`` (absolute, resolved) is on, per the text of a
    mountinfo file, or None if no mount holds it."""
    best: tuple[str, str] | None = None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if " - " not in line or len(fields) < 5:
            continue
        point = _unescape(fields[4])
        fstype = line.split(" - ", 1)[1].split(" ", 1)[0]
        inside = point == "/" or path == point or path.startswith(point.rstrip("/") + "/")
        # The longest mount point wins; of several at one point, the last mounted (it hides the others).
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fstype)
    return best


def _unescape(field: str) -> str:
    """A mountinfo path: spaces, tabs, newlines and backslashes are written as octal escapes (``\\040``)."""
    if "\\" not in field:
        return field
    out, at = [], 0
    while at < len(field):
        if field[at] == "\\" and field[at + 1 : at + 4].isdigit() and at + 3 < len(field):
            out.append(chr(int(field[at + 1 : at + 4], 8)))
            at += 4
        else:
            out.append(field[at])
            at += 1
    return "".join(out)


def check_local(data_dir: Path, *, allow_network: bool = False) -> None:
    """Raise :class:`NetworkFilesystemError` if ``data_dir`` (which need not exist yet) is on a network
    filesystem, unless ``allow_network``; nothing where mounts cannot be read."""
    if allow_network:
        return
    try:
        table = MOUNTINFO.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return
    found = mount_of(os.path.realpath(data_dir), table)
    if found is not None and found[1] in NETWORK_FILESYSTEMS:
        point, fstype = found
        raise NetworkFilesystemError(
            f"{data_dir} is on a network filesystem ({fstype}, mounted at {point}), where SQLite's locks and "
            "write-ahead log do not hold and acknowledged writes can be lost or corrupted. Use a local disk "
            "(a named Docker volume, a block-storage Kubernetes volume), or set "
            "SEMSEARCH_ALLOW_NETWORK_FILESYSTEM=true if only this machine ever opens it and you accept the "
            "risk."
        )
