"""What .gitignore files leave out of a folder and of a ZIP (index.ingest.ignore), against git itself."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.ingest.ignore import MAX_IGNORE_BYTES, MAX_IGNORE_PATTERNS, Ignores
from index.ingest.sources import describe_left_out, discover, folder_files
from index.ingest.uploaded import read_file


def git(folder: Path, *args: str) -> str:
    """git run in ``folder`` with no configuration but the repository's own: no global excludes file."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder / ".no-config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    done = subprocess.run(["git", *args], cwd=folder, env=env, capture_output=True, check=True, text=True)
    return done.stdout


def git_sees(folder: Path) -> list[str]:
    """The files git would offer to add (untracked, not ignored), hidden ones apart: the reference."""
    listed = git(folder, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
    return sorted(
        (p for p in listed if p and not any(part.startswith(".") for part in p.split("/"))),
        key=lambda p: p.split("/"),
    )


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


NAMES = ["a", "b", "build", "c.log", "d.py", "keep.log"]
PATTERNS = [
    "*.log",
    "!keep.log",
    "build/",
    "/a",
    "b",
    "a/**/d.py",
    "**/build",
    "*",
    "!*.py",
    "!*/",
    "d*",
    "a/b/",
    "/*/c.log",
    "b/*",
    "!b/d.py",
    "# a comment",
    "",
    "\\!keep.log",
    "[ab]",
    "?.py",
    "build/**",
    "**",
]
paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join)
trees = st.fixed_dictionaries(
    {
        "files": st.lists(paths, min_size=1, max_size=12, unique=True),
        "ignores": st.dictionaries(
            st.sampled_from(["", "a", "b", "a/b", "build"]),
            st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=6),
            max_size=3,
        ),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trees)
@example({"files": ["a/keep.log", "a/c.log", "b/d.py"], "ignores": {"": ["*.log", "b"], "a": ["!keep.log"]}})
@example({"files": ["b/a/c.log", "b/d.py"], "ignores": {"": ["*.log"], "b": ["!*/"]}})
@example({"files": ["build/c.log", "build/d.py"], "ignores": {"": ["*.log", "build/", "!build/"]}})
def test_a_folder_walk_leaves_out_what_git_leaves_out(
    tmp_path_factory: pytest.TempPathFactory, tree: dict[str, Any]
) -> None:
    root = tmp_path_factory.mktemp("tree")
    for path in tree["files"]:
        if not any(other.startswith(path + "/") for other in tree["files"]):  # else it is a folder
            write(root / path, "text")
    for folder, patterns in tree["ignores"].items():
        with contextlib.suppress(NotADirectoryError, FileExistsError):  # where a file has the folder's name
            write(root / folder / ".gitignore", "\n".join(patterns) + "\n")
    git(root, "init", "-q")
    left_out: list[str] = []
    walked = [relative for _, relative in folder_files(root, left_out=left_out)]
    assert walked == git_sees(root), tree
    everything = [relative for _, relative in folder_files(root, ignore=False)]
    # What is left out is what the walk did not take: each file under one of the paths listed
    for relative in set(everything) - set(walked):
        assert any(relative == out or relative.startswith(out) for out in left_out if out), relative


def test_a_folder_inside_a_work_tree_follows_the_ignore_files_above_it(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.log\n/docs/drafts/\n")
    write(tmp_path / "docs" / ".gitignore", "!keep.log\n")
    for name in ("guide.md", "run.log", "keep.log", "drafts/idea.md", "api/ref.md"):
        write(tmp_path / "docs" / name, "text")
    git(tmp_path, "init", "-q")
    expected = [p.removeprefix("docs/") for p in git_sees(tmp_path) if p.startswith("docs/")]
    assert expected == ["api/ref.md", "guide.md", "keep.log"]
    assert [relative for _, relative in folder_files(tmp_path / "docs")] == expected
    assert len(folder_files(tmp_path / "docs", ignore=False)) == 5
    # Outside any work tree, the ignore files above a folder are not its own: only its own apply
    (tmp_path / ".git").rename(tmp_path / "not-git")
    assert len(folder_files(tmp_path / "docs")) == 5


def test_indexing_a_project_leaves_out_its_dependencies_and_build(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "node_modules/\ndist/\n*.log\n")
    for name in ("src/app.js", "README.md", "node_modules/left-pad/index.js", "dist/app.js", "npm.log"):
        write(tmp_path / name, "text")
    left_out: list[str] = []
    found = discover([tmp_path], left_out=left_out)
    assert [s.relative for s in found] == ["README.md", "src/app.js"]
    assert left_out == ["dist/", "node_modules/", "npm.log"]
    assert describe_left_out(left_out) == "3 paths .gitignore files leave out (dist/, node_modules/, npm.log)"
    assert len(discover([tmp_path], ignore=False)) == 5
    many = [f"f{n}.log" for n in range(8)]
    assert describe_left_out(many).endswith("(f0.log, f1.log, f2.log, f3.log, f4.log and 3 more)")


def test_a_line_git_would_not_read_is_passed_over_not_the_file() -> None:
    ignores = Ignores()
    ignores.add("", "!\n*.log\n\\\n")  # "!" and a lone backslash are not patterns
    assert ignores.matches("x.log", is_dir=False)
    assert not ignores.matches("x.md", is_dir=False)


def test_an_ignore_file_too_large_to_read_is_not_applied(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.md\n" + "#" * MAX_IGNORE_BYTES)
    write(tmp_path / "a.md", "text")
    assert [relative for _, relative in folder_files(tmp_path)] == ["a.md"]
    write(tmp_path / ".gitignore", "".join(f"f{n}.txt\n" for n in range(MAX_IGNORE_PATTERNS)) + "*.md\n")
    assert [relative for _, relative in folder_files(tmp_path)] == ["a.md"]  # one pattern too many
    write(tmp_path / ".gitignore", "".join(f"f{n}.txt\n" for n in range(MAX_IGNORE_PATTERNS - 1)) + "*.md\n")
    assert folder_files(tmp_path) == []


def test_a_folder_linked_into_itself_is_walked_once(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.md", "text")
    (tmp_path / "docs" / "loop").symlink_to(tmp_path / "docs", target_is_directory=True)
    (tmp_path / "more").symlink_to(tmp_path / "docs", target_is_directory=True)
    assert [relative for _, relative in folder_files(tmp_path)] == ["docs/a.md"]


def zip_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zipped_project_leaves_out_what_its_ignore_files_do() -> None:
    data = zip_of(
        [
            ("shop/.gitignore", b"node_modules/\n*.log\n"),
            ("shop/web/.gitignore", b"!debug.log\n"),
            ("shop/README.md", b"# Shop\n\nSells bread."),
            ("shop/node_modules/left-pad/index.js", b"module.exports = pad"),
            ("shop/node_modules/left-pad/README.md", b"# left-pad"),
            ("shop/web/app.js", b"render()"),
            ("shop/web/debug.log", b"GET / 200"),
            ("shop/server.log", b"started"),
            ("other/.hidden/.gitignore", b"*\n"),  # in a hidden folder: not read
            ("other/notes.md", b"Notes."),
        ]
    )
    contents = read_file("unused", "shop.zip", data)
    assert contents.paths == ["other/notes.md", "shop/README.md", "shop/web/app.js", "shop/web/debug.log"]
    assert contents.left_out == ["shop/node_modules/", "shop/server.log"]
    everything_ignored = zip_of([(".gitignore", b"*\n"), ("a.md", b"A")])
    with pytest.raises(ValueError, match=r"reads in it: 1 path \.gitignore files leave out \(a\.md\)"):
        read_file("unused", "all.zip", everything_ignored)


def test_a_pattern_that_backtracks_does_not_stall_reading_an_archive(tmp_path: Path) -> None:
    """Hostile input: Python's re takes minutes (C(60, 12) ways to fail) on this pattern and name, holding
    the interpreter's lock; RE2 is linear in the path. Read in a child process, so that a regression fails
    here (killed after a minute) instead of hanging the run."""
    name = "shop/" + "a" * 60 + ".md"
    archive = tmp_path / "x.zip"
    archive.write_bytes(zip_of([("shop/.gitignore", b"*a*a*a*a*a*a*a*a*a*a*a*a*b\n"), (name, b"A note.")]))
    script = (
        "import sys; from index.ingest.uploaded import read_file; "
        "print(read_file('unused', 'x.zip', open(sys.argv[1], 'rb').read()).paths)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(archive)], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == repr([name])
