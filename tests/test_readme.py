"""The README is a front page that tells the truth: its test command is what CI runs, and every command,
make target, CLI option, API path and link it shows exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.main import get_command

from service.app import create_app
from service.cli import app as cli_app
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAX_CHARS = 12_000


def section(heading: str) -> str:
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else len(README)]


def code_lines(text: str) -> list[str]:
    """The commands of the ```bash blocks of ``text``: comments dropped, continuation lines joined."""
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def makefile_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))


def test_the_readme_is_a_front_page() -> None:
    assert len(README) <= MAX_CHARS
    for heading in ("Quick start", "A short tour", "Where to go next"):
        assert section(heading)


def test_the_readme_test_command_is_what_ci_runs() -> None:
    quick_start = code_lines(section("Quick start"))
    assert quick_start == ["make serve", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "make test"  # the last step, after preparing the machine


def test_every_make_target_the_readme_names_exists() -> None:
    named = set(re.findall(r"`make ([a-z-]+)", README)) | {
        line.split()[1] for line in code_lines(README) if line.startswith("make ")
    }
    assert named
    assert named <= makefile_targets()


def test_every_cli_command_and_option_in_the_readme_exists() -> None:
    commands = get_command(cli_app).commands  # type: ignore[attr-defined]
    shown = [line for line in code_lines(README) if line.startswith(".venv/bin/semsearch ")]
    assert shown
    for line in shown:
        words = shlex.split(line)
        name, args = words[1], words[2:]
        assert name in commands, line
        options = {opt for param in commands[name].params for opt in param.opts}
        for word in args:
            if word.startswith("-") and word != "-":
                assert word in options, line


def test_every_api_path_in_the_readme_exists(tmp_path: Path) -> None:
    paths = set(create_app(Settings(data_dir=tmp_path, seed_demo=False)).openapi()["paths"])
    shown = set(re.findall(r"localhost:8000(/[a-z0-9/]*)", README)) | set(
        re.findall(r"`(?:GET|POST) (/[a-z0-9/]*)", README)
    )
    shown = {path.rstrip("/") or "/" for path in shown} - {"/", "/docs"}
    assert shown
    assert shown <= paths


@pytest.mark.parametrize("link", sorted(set(re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README))))
def test_every_link_in_the_readme_resolves(link: str) -> None:
    assert (ROOT / link).exists(), link
