"""What a folder's ``.gitignore`` files leave out, read as git reads them (pathspec's ``GitIgnoreSpec``).

A project's folder holds what its owner never wants searched: dependencies (``node_modules/``), build output,
virtual environments, caches, logs of old runs. Its ``.gitignore`` files already say so, and indexing the
folder (``semsearch index``, ``semsearch sync``) or a ZIP of it follows them:

* a ``.gitignore`` applies to the folder it is in and everything under it, its patterns relative to that
  folder; a deeper one's patterns come after a shallower one's, and the last pattern that matches a path
  decides (``!keep.log`` takes back what ``*.log`` left out);
* a folder left out is not entered, so nothing under it comes back (git's rule: ``!`` cannot re-include a
  file whose folder is excluded);
* when the folder indexed is inside a git work tree, the ``.gitignore`` files of the folders above it, up to
  the one holding ``.git``, apply as well, as they would to ``git status`` run there.

Not read: ``.git/info/exclude`` and the user's global excludes file (they are one machine's, not the
project's). Paths are relative to the folder indexed, ``/``-separated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

IGNORE_FILE = ".gitignore"
# The most of an ignore file read: a project's is a few KB; each line is a regular expression tried on
# every path, so a hostile one of millions of lines would make listing a folder slow.
MAX_IGNORE_BYTES = 256 * 1024
# And the most patterns one may hold (GitHub's templates hold under 200): a path some pattern matches is
# tried against each, from the last, until one matches it itself.
MAX_IGNORE_PATTERNS = 2000

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Pattern:
    include: bool  # True: leaves out what it matches; False: takes it back (a "!" pattern)
    search: Any  # its expression, compiled by RE2 (see _compiled)
    whole: Any  # the same, matching to the end of the path


@dataclass(frozen=True, slots=True)
class _Rules:
    spec: GitIgnoreSpec
    prefix: str  # the indexed folder's place under a .gitignore above it ("docs/"), else ""
    patterns: tuple[_Pattern, ...]

    def decide(self, path: str) -> bool | None:
        """What the last of these patterns that matches ``path`` itself says (a folder's path ends in
        ``/``): True to leave it out, False to keep it, None if none does.

        pathspec's regular expressions also match every path under a folder a pattern matches (``a``
        matches ``a/c.log``, marked by the named group :data:`_FOLDER_MARK`), which a walk that does not
        enter a folder left out never needs, and which would be wrong here: ``!*/`` in a deeper
        ``.gitignore`` takes back folders, not the ``*.log`` files a shallower one leaves out in them."""
        if self.spec.check_file(path).include is None:  # the common case: no pattern matches at all
            return None
        for pattern in reversed(self.patterns):  # the last that matches decides
            match = pattern.search.search(path)
            if match is None:
                continue
            if match.groupdict().get(_FOLDER_MARK) is None or pattern.whole.search(path) is not None:
                return pattern.include
        return None


class Ignores:
    """The ``.gitignore`` rules of one folder tree: :meth:`add` each file's text, then ask :meth:`matches`
    (in a walk) or :meth:`left_out_at` (of a list of paths)."""

    def __init__(self) -> None:
        self._rules: dict[str, list[_Rules]] = {}  # by the folder (relative, "" the root) they apply under

    def __bool__(self) -> bool:
        return bool(self._rules)

    def add(self, folder: str, text: str, *, prefix: str = "") -> None:
        """The rules of the ``.gitignore`` in ``folder`` (``""`` for the root; one above the root: ``""`` with
        ``prefix`` the root's path under it and a ``/``). A line git would not read as a pattern is passed
        over, not the whole file."""
        import re2  # loaded with the first ignore file read, not by a service that reads none

        spec = _spec(text.splitlines())
        patterns = tuple(
            _Pattern(
                pattern.include,
                re2.compile(pattern.regex.pattern),
                re2.compile(f"(?:{pattern.regex.pattern})$"),
            )
            for pattern in spec.patterns
            if pattern.include is not None and pattern.regex is not None
        )
        if len(patterns) > MAX_IGNORE_PATTERNS:
            log.warning("%s/.gitignore: over %d patterns; they are not applied", folder, MAX_IGNORE_PATTERNS)
        elif patterns:
            self._rules.setdefault(folder, []).append(_Rules(spec, prefix, patterns))

    def matches(self, path: str, *, is_dir: bool) -> bool:
        """Whether the rules leave ``path`` out, its folders taken as kept (a walk that does not enter a
        folder left out asks only this)."""
        verdict = False
        folder = ""
        rest = path
        while True:
            for rules in self._rules.get(folder, ()):
                said = rules.decide(rules.prefix + rest + ("/" if is_dir else ""))
                if said is not None:
                    verdict = said
            head, slash, rest = rest.partition("/")
            if not slash:
                return verdict
            folder = f"{folder}/{head}" if folder else head

    def left_out_at(self, path: str) -> str | None:
        """Where the file at ``path`` is left out: the highest folder above it the rules leave out (with a
        ``/`` at its end), or ``path`` itself, or ``None`` if it is kept (for a list of paths, such as a
        ZIP's, where no walk skips the folders)."""
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if self.matches(folder, is_dir=True):
                return folder + "/"
        return path if self.matches(path, is_dir=False) else None


# The group pathspec's gitignore expressions name the "/" after a folder with (pathspec.patterns.gitignore):
# a match through it is a match of a folder above the path, unless that "/" is the path's own last (which
# the expression matched to the path's end says). The expressions run on RE2, in time linear in the path:
# Python's re backtracks, and "*a*a*a*a*a*a*a*a*a*a*a*a*b" against a name of 60 a's takes it minutes (a
# ZIP's .gitignore and names are anyone's); without multi-line mode, RE2's "$" is the text's end only.
_FOLDER_MARK = "ps_d"


def _spec(lines: list[str]) -> GitIgnoreSpec:
    """The patterns of ``lines``, compiled for RE2; a line git would not read as a pattern (``!`` alone) is
    passed over."""
    from pathspec import GitIgnoreSpec
    from pathspec.patterns.gitignore import GitIgnorePatternError

    def valid(line: str) -> bool:
        try:
            GitIgnoreSpec.from_lines([line], backend="re2")
        except (GitIgnorePatternError, ValueError):
            return False
        return True

    try:
        return GitIgnoreSpec.from_lines(lines, backend="re2")
    except (GitIgnorePatternError, ValueError):
        return GitIgnoreSpec.from_lines([line for line in lines if valid(line)], backend="re2")


def read_ignore_file(path: Path) -> str | None:
    """The text of the ignore file at ``path``, or ``None`` if there is none, it cannot be read or it is
    larger than :data:`MAX_IGNORE_BYTES` (logged: its patterns are not applied)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_IGNORE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as error:
        log.warning("%s: cannot be read (%s); its patterns are not applied", path, error.strerror)
        return None
    return ignore_text(data, str(path))


def ignore_text(data: bytes, name: str) -> str | None:
    """An ignore file's bytes as text, or ``None`` (logged) past :data:`MAX_IGNORE_BYTES`."""
    if len(data) > MAX_IGNORE_BYTES:
        log.warning("%s: over %d bytes; its patterns are not applied", name, MAX_IGNORE_BYTES)
        return None
    return data.decode("utf-8", "replace")


def rules_above(folder: Path, ignores: Ignores) -> None:
    """Add the ``.gitignore`` files of the folders above ``folder``, up to the root of the git work tree it is
    in (the nearest folder above holding ``.git``), to ``ignores``; none if it is in no work tree."""
    folder = folder.resolve()
    if (folder / ".git").exists():
        return
    above: list[Path] = []
    for parent in folder.parents:
        above.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return
    for parent in reversed(above):  # the work tree's root first: deeper files come after
        text = read_ignore_file(parent / IGNORE_FILE)
        if text is not None:
            ignores.add("", text, prefix=folder.relative_to(parent).as_posix() + "/")
