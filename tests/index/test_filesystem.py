"""Data directories on network filesystems are refused (index/storage/filesystem.py): the mount table's
reader against a plain reference, and the refusal where an index is opened and where the service starts."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from index import SearchIndex
from index.storage import filesystem
from index.storage.filesystem import NetworkFilesystemError, check_local, mount_of
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder

PARTS = st.sampled_from(["data", "mnt", "nfs", "a b", "x\\y", "é", "d"])
PATHS = st.lists(PARTS, max_size=4).map(lambda parts: "/" + "/".join(parts))
TYPES = st.sampled_from(["ext4", "nfs4", "tmpfs", "cifs", "overlay"])


def escaped(path: str) -> str:
    """As the kernel writes a path in mountinfo: space, tab, newline and backslash in octal."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


def line(number: int, point: str, fstype: str, optional: str = "") -> str:
    return f"{number} 1 0:{number} / {escaped(point)} rw,relatime {optional}- {fstype} source rw"


def reference(path: str, mounts: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The longest mount point holding ``path``, component by component; of equals, the last mounted."""
    parts = [p for p in path.split("/") if p]
    found = None
    for point, fstype in mounts:
        under = [p for p in point.split("/") if p]
        if parts[: len(under)] == under and (found is None or len(under) >= found[0]):
            found = (len(under), point, fstype)
    return None if found is None else (found[1], found[2])


@settings(max_examples=300, deadline=None)
@given(
    mounts=st.lists(st.tuples(PATHS, TYPES), max_size=6),
    path=PATHS,
    optional=st.sampled_from(["", "shared:1 ", "master:2 propagate_from:1 "]),
)
def test_the_mount_of_a_path_is_the_longest_and_last_that_holds_it(
    mounts: list[tuple[str, str]], path: str, optional: str
) -> None:
    table = "\n".join(line(i, point, fstype, optional) for i, (point, fstype) in enumerate(mounts))
    assert mount_of(posixpath.normpath(path), table) == reference(path, mounts)


def test_a_network_filesystem_is_refused_where_an_index_opens_and_the_service_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "mountinfo"
    share = str(tmp_path.resolve() / "share")
    table.write_text(f"{line(1, '/', 'ext4')}\n{line(2, share, 'nfs4')}\n", encoding="utf-8")
    monkeypatch.setattr(filesystem, "MOUNTINFO", table)
    data = tmp_path / "share" / "data"
    check_local(tmp_path / "local")  # the rest of the machine is ext4
    with pytest.raises(NetworkFilesystemError, match="network filesystem \\(nfs4"):
        SearchIndex.open(data, FakeEmbedder())
    assert not data.exists()  # refused before anything was written
    with SearchIndex.open(data, FakeEmbedder(), allow_network_filesystem=True) as index:
        assert index.stats().documents == 0

    config = Settings(data_dir=tmp_path / "share" / "other", model="fake/bag-of-words", seed_demo=False)
    app = create_app(config)
    with pytest.raises(NetworkFilesystemError, match="SEMSEARCH_ALLOW_NETWORK_FILESYSTEM"), TestClient(app):
        pass

    monkeypatch.setattr(filesystem, "MOUNTINFO", tmp_path / "no-such-file")  # not Linux: no check
    check_local(data)
