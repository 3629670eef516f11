"""A writer of Compound File Binary files ([MS-CFB] version 3: 512-byte sectors, streams under 4,096 bytes in
the mini stream), the OLE2 container of Outlook's .msg files, for tests: no library on PyPI writes one, and
olefile only reads them. Every stream is given by its path (storages separated by "/")."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
CUTOFF = 4096
FREE, END, FAT_SECTOR, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    start: int = END
    number: int = 0
    left: int = NONE
    right: int = NONE
    child: int = NONE


def cfb_bytes(streams: dict[str, bytes]) -> bytes:
    root = _Entry("Root Entry", 5)
    for path, data in streams.items():
        *storages, name = path.split("/")
        parent = root
        for storage in storages:
            found = next((c for c in parent.children if c.name == storage and c.kind == 1), None)
            if found is None:
                found = _Entry(storage, 1)
                parent.children.append(found)
            parent = found
        parent.children.append(_Entry(name, 2, data))
    entries: list[_Entry] = []

    def number(entry: _Entry) -> None:
        entry.number = len(entries)
        entries.append(entry)
        for child in entry.children:
            number(child)

    number(root)
    for entry in entries:
        entry.child = _tree(sorted(entry.children, key=lambda e: (len(e.name), e.name.upper())))
    # The mini stream: each small stream in whole 64-byte mini sectors, chained in the mini FAT.
    mini = bytearray()
    mini_fat: list[int] = []
    for entry in entries:
        if entry.kind == 2 and 0 < len(entry.data) < CUTOFF:
            entry.start = len(mini) // MINI_SECTOR
            count = math.ceil(len(entry.data) / MINI_SECTOR)
            mini_fat += [entry.start + n + 1 for n in range(count - 1)] + [END]
            mini += entry.data.ljust(count * MINI_SECTOR, b"\x00")
    sectors: list[bytes] = []
    fat: list[int] = []

    def place(data: bytes) -> int:
        if not data:
            return END
        first = len(sectors)
        count = math.ceil(len(data) / SECTOR)
        for n in range(count):
            sectors.append(data[n * SECTOR : (n + 1) * SECTOR].ljust(SECTOR, b"\x00"))
        fat.extend([first + n + 1 for n in range(count - 1)] + [END])
        return first

    for entry in entries:
        if entry.kind == 2 and len(entry.data) >= CUTOFF:
            entry.start = place(entry.data)
    root.start = place(bytes(mini))
    root.data = bytes(mini)
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    mini_fat_bytes += struct.pack("<I", FREE) * (-len(mini_fat) % (SECTOR // 4))
    mini_fat_start = place(mini_fat_bytes) if mini_fat else END
    directory = b"".join(_directory_entry(entry) for entry in entries)
    directory += _directory_entry(None) * (-len(entries) % (SECTOR // 128))
    directory_start = place(directory)
    fat_count = 1
    while math.ceil((len(sectors) + fat_count) * 4 / SECTOR) > fat_count:
        fat_count += 1
    assert fat_count <= 109, "a file this large needs DIFAT sectors, which this writer does not write"
    fat_start = len(sectors)
    fat += [FAT_SECTOR] * fat_count
    fat += [FREE] * (fat_count * SECTOR // 4 - len(fat))
    table = struct.pack(f"<{len(fat)}I", *fat)
    for n in range(fat_count):
        sectors.append(table[n * SECTOR : (n + 1) * SECTOR])
    difat = [fat_start + n for n in range(fat_count)] + [FREE] * (109 - fat_count)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\x00" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\x00" * 6,
        0,
        fat_count,
        directory_start,
        0,
        CUTOFF,
        mini_fat_start,
        len(mini_fat_bytes) // SECTOR if mini_fat else 0,
        END,
        0,
    ) + struct.pack("<109I", *difat)
    return header + b"".join(sectors)


def _tree(siblings: list[_Entry]) -> int:
    """The number of the root of a balanced tree of ``siblings`` (sorted), linking the rest below it."""
    if not siblings:
        return NONE
    middle = len(siblings) // 2
    top = siblings[middle]
    top.left = _tree(siblings[:middle])
    top.right = _tree(siblings[middle + 1 :])
    return top.number


def _directory_entry(entry: _Entry | None) -> bytes:
    if entry is None:  # an unused entry
        return struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 1, NONE, NONE, NONE, b"\x00" * 16, 0, 0, 0, 0, 0)
    name = entry.name.encode("utf-16-le") + b"\x00\x00"
    size = len(entry.data) if entry.kind != 1 else 0
    start = entry.start if entry.kind != 1 else 0
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        entry.kind,
        1,  # black: every node, which olefile does not check
        entry.left,
        entry.right,
        entry.child,
        b"\x00" * 16,
        0,
        0,
        0,
        start,
        size,
    )
