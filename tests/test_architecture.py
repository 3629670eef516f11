"""The file tree is the architecture: ``index`` is a library that knows nothing of the service."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_index_pulls_in_no_web_cli_or_model_framework() -> None:
    code = (
        "import sys, index\n"
        "banned = ('fastapi', 'starlette', 'uvicorn', 'typer', 'click', 'pydantic_settings', 'service',"
        " 'torch', 'sentence_transformers', 'ray')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(banned)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_index_sources_never_import_service() -> None:
    for path in (ROOT / "index").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("service"), f"{path} imports {node.module}"
            if isinstance(node, ast.Import):
                assert all(not alias.name.startswith("service") for alias in node.names), path


def test_the_service_and_cli_work_without_ray_installed() -> None:
    """Ray is an optional extra: with it made unimportable, the app builds, the CLI runs and a sharded index
    is searched locally; only the Ray commands need it, and they say how to get it."""
    code = (
        "import sys\n"
        "sys.modules['ray'] = None  # import ray now raises ImportError, as if it were not installed\n"
        "from typer.testing import CliRunner\n"
        "from service.app import create_app\n"
        "from service.cli import app\n"
        "import index.distributed.sharding\n"
        "create_app()\n"
        "out = CliRunner().invoke(app, ['serve-ray', '--help'])\n"
        "assert out.exit_code == 0, out.output\n"
        "out = CliRunner().invoke(app, ['serve-ray', '/nonexistent'])\n"
        "assert out.exit_code != 0 and 'semsearch[ray]' in out.output, out.output\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "ok", out.stderr
