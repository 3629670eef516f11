"""The demo corpus is the guide a new user searches first, served from the service's own data directory: every
route, setting, command, option and filter it shows exists and works as shown."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.main import get_command

from index.retrieval.filters import compile_filter
from service.app import create_app
from service.cli import app as cli_app
from service.runtime import DEMO_CORPUS
from service.settings import Settings

GUIDE = "\n".join(path.read_text(encoding="utf-8") for path in sorted(DEMO_CORPUS.glob("*.md")))


def spans() -> list[str]:
    """The guide's code spans, their line breaks read as spaces."""
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", GUIDE)]


def template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


def test_every_route_the_guide_names_exists_with_its_method(tmp_path: Path) -> None:
    spec = create_app(Settings(data_dir=tmp_path, seed_demo=False)).openapi()["paths"]
    routes = {(method.upper(), template(path)) for path, item in spec.items() for method in item}
    routes |= {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}  # left out of the schema
    shown = [span.split() for span in spans() if re.fullmatch(r"(GET|POST|PUT|DELETE) /\S*", span)]
    named = {(method, template(path)) for method, path in shown}
    assert len(named) >= 10
    assert named <= routes, named - routes


def test_every_setting_the_guide_names_exists() -> None:
    named = set(re.findall(r"\bSEMSEARCH_[A-Z_]+\b", GUIDE))
    assert named
    fields = {f"SEMSEARCH_{name.upper()}" for name in Settings.model_fields}
    assert named <= fields, named - fields


def test_every_command_and_option_the_guide_names_exists() -> None:
    commands = get_command(cli_app).commands  # type: ignore[attr-defined]
    shown = [span for span in spans() if span.startswith("semsearch ")]
    assert len(shown) >= 5
    for line in shown:
        name, *args = shlex.split(line)[1:]
        assert name in commands, line
        options = {opt for param in commands[name].params for opt in param.opts}
        assert {word for word in args if word.startswith("--")} <= options, line
    for option in re.findall(r"with `(--[a-z-]+)`", GUIDE):  # "with `--watch`" after its command
        assert any(option in param.opts for command in commands.values() for param in command.params)


@pytest.mark.parametrize("shown", [span for span in spans() if span.startswith("{")])
def test_every_filter_the_guide_shows_compiles(shown: str) -> None:
    compile_filter(json.loads(shown))
