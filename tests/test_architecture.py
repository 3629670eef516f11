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
        " 'torch', 'sentence_transformers')\n"
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
