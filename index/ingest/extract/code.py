"""Source code, configuration and data files read as the text they are.

A project's folder is more than its prose: a question about how uploads are retried is answered by a
function, one about a setting by a configuration file. Such a file is read as it stands (decoded as any
text file is), under the format ``code``, titled with its file name (``client.py`` says more in a list of
hits than ``client``), with the language its name says in ``programming_language``, the field a notebook's
kernel fills, so that ``programming_language = 'python'`` filters both. The chunker cuts it where its blank
lines are, as it cuts prose, so a chunk is a function, a class's head, a block of settings.

Files named without a suffix that projects keep (``Dockerfile``, ``Makefile``, ``README``, ``LICENSE``) are
known by name: see :data:`NAMES`.
"""

from __future__ import annotations

from pathlib import PurePath

from index.ingest.extract.base import Extracted
from index.ingest.extract.properties import file_fields

# Suffix to language, as GitHub's linguist names them (lower-cased). Files whose bytes are not text (a
# ``.ts`` MPEG video, a compiled ``.class``) are refused by the sniffer before they reach the reader.
LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".java": "java",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".groovy": "groovy",
    ".gradle": "groovy",
    ".go": "go",
    ".rs": "rust",
    ".c": "c",
    ".h": "c",
    ".cc": "c++",
    ".cpp": "c++",
    ".cxx": "c++",
    ".hpp": "c++",
    ".hh": "c++",
    ".cs": "c#",
    ".fs": "f#",
    ".swift": "swift",
    ".m": "objective-c",
    ".rb": "ruby",
    ".php": "php",
    ".pl": "perl",
    ".pm": "perl",
    ".lua": "lua",
    ".r": "r",
    ".jl": "julia",
    ".dart": "dart",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".clj": "clojure",
    ".ml": "ocaml",
    ".vue": "vue",
    ".svelte": "svelte",
    ".css": "css",
    ".scss": "scss",
    ".sass": "sass",
    ".less": "less",
    ".sql": "sql",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".fish": "fish",
    ".ps1": "powershell",
    ".bat": "batchfile",
    ".cmd": "batchfile",
    ".proto": "protocol buffer",
    ".graphql": "graphql",
    ".tf": "hcl",
    ".hcl": "hcl",
    ".nix": "nix",
    ".json": "json",
    ".jsonc": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".ini": "ini",
    ".cfg": "ini",
    ".conf": "ini",
    ".properties": "java properties",
    ".xml": "xml",
    ".xsd": "xml",
    ".bib": "bibtex",
    ".cmake": "cmake",
    ".mk": "makefile",
}

# Files known by their whole name: ``code`` with a language, or ``text`` (a README, a licence).
NAMES: dict[str, tuple[str, str | None]] = {
    "Dockerfile": ("code", "dockerfile"),
    "Containerfile": ("code", "dockerfile"),
    "Makefile": ("code", "makefile"),
    "GNUmakefile": ("code", "makefile"),
    "CMakeLists.txt": ("code", "cmake"),
    "Jenkinsfile": ("code", "groovy"),
    "Gemfile": ("code", "ruby"),
    "Rakefile": ("code", "ruby"),
    "Vagrantfile": ("code", "ruby"),
    **dict.fromkeys(
        ("README", "LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS", "CHANGELOG", "CONTRIBUTING"),
        ("text", None),
    ),
}


# Files a tool writes and nobody reads, under suffixes that are read: lock files (hashes and versions of a
# project's dependencies, often its largest text file) and minified scripts and styles (one line of
# shortened names). A folder or a ZIP passes over them, as it passes over node_modules/ by its .gitignore.
GENERATED_NAMES = frozenset(
    {"package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "packages.lock.json"}
)
GENERATED_SUFFIXES = (".min.js", ".min.css", ".min.mjs")


def generated(name: str) -> bool:
    """Whether a file named ``name`` is one a tool writes for tools (:data:`GENERATED_NAMES`)."""
    path = PurePath(name)
    return path.name in GENERATED_NAMES or path.name.lower().endswith(GENERATED_SUFFIXES)


def language(name: str) -> str | None:
    """The language of a code file named ``name`` (by its name, else its suffix), or ``None``."""
    path = PurePath(name)
    known = NAMES.get(path.name)
    if known is not None:
        return known[1]
    return LANGUAGES.get(path.suffix.lower())


def extract_code(data: bytes, name: str) -> Extracted:
    from index.ingest.extract.text import decode, nonempty

    text = nonempty(decode(data, name), name)
    fields = file_fields(programming_language=language(name))
    return Extracted(text=text, title=PurePath(name).name, format="code", fields=fields)
