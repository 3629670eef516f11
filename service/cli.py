"""The ``semsearch`` command: serve, index, search, stats.

Every option falls back to its ``SEMSEARCH_*`` environment variable, then to the default in
:class:`~service.settings.Settings`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol, TypeVar, cast

import typer
from pydantic import ValidationError

from index import Document, Like, SearchIndex, SearchRequest, SemsearchError, UpsertResult, to_dict
from index.distributed.sharding import ShardedIndex
from index.errors import DocumentNotFoundError, InvalidInputError
from index.ingest.extract import ExtractionError, format_of
from index.ingest.extract.text import text_encoding
from index.ingest.preparation import DEFAULT_GROUP_SIZE
from index.ingest.sources import (
    SourceError,
    SourceFile,
    describe_left_out,
    describe_unsupported,
    discover,
    file_document,
    jsonl_documents,
    read_documents,
)
from index.storage.faults import storage_fault
from index.types import FacetOrder, MetadataUpdate, SearchMode
from index.validation import parse_json
from service.settings import Settings, split_keys, unknown_variables

if TYPE_CHECKING:
    from service.schemas import DocumentOut

# "\b" (a line of its own) keeps click from rewrapping the paragraph after it: commands stay on one line each,
# whole for copying, and every line fits a terminal of 80 columns.
EXAMPLES = """Examples:

\b
  # The API and search page on http://127.0.0.1:8000
  semsearch serve
  # Index a folder (PDF, Office, EPUB, HTML, text...), or send it to a service
  semsearch index ./docs --data-dir /data
  semsearch index ./docs --url http://127.0.0.1:8000
  # Mirror a folder (add, replace, delete) and keep following it
  semsearch sync ./handbook --watch
  # MCP tools over stdio, for desktop agents
  semsearch mcp --url http://127.0.0.1:8000
  # Search from the shell (add --json for programs)
  semsearch search "how do tides make power?" -k 5
  # Counts, model and index type; a metadata field's values, most held first
  semsearch stats --json
  semsearch facets author
  # A consistent copy while the service runs; put it back (service stopped)
  semsearch snapshot /backups/today
  semsearch restore /backups/today
  # Every document as JSON Lines, to index anywhere
  semsearch export -o corpus.jsonl
  # One document; retag or delete documents, by id or by --filter
  semsearch get notes/plan.md
  semsearch update notes/plan.md --metadata '{"status": "done"}'
  semsearch delete notes/old.md --url http://127.0.0.1:8000
  # Retrieval quality on a BEIR dataset: nDCG@10, Recall@100, MRR@10
  semsearch eval path/to/beir-dataset --split train
  # Embed on Ray into 2 shards; serve them replicated; re-split, no embedding
  semsearch index ./docs --data-dir /data/sharded --shards 2 --ray local
  semsearch serve-ray /data/sharded --replicas 2
  semsearch reshard /data /data-4 --shards 4
"""

app = typer.Typer(
    name="semsearch",
    help="Semantic search over paragraphs: index files, search them, serve an HTTP API.",
    epilog=EXAMPLES,
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_SEARCH_DEFAULTS = SearchRequest("")
# Documents a page of `semsearch export` asks for (a page also ends early at a few million characters).
_EXPORT_PAGE = 500
# Records `semsearch eval` leaves out, named one by one up to this many (then counted).
_NOTES_SHOWN = 20

T = TypeVar("T")

# SIGTERM to exit: in-flight requests get this long, the index's close (background work, save) the rest of
# the 10 s an orchestrator usually allows.
GRACEFUL_SHUTDOWN_SECONDS = 4

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Index directory [env: SEMSEARCH_DATA_DIR].", show_default=False),
]
Model = Annotated[
    str | None, typer.Option("--model", help="Model name or path [env: SEMSEARCH_MODEL].", show_default=False)
]


def _settings(**overrides: Any) -> Settings:
    for name in unknown_variables(os.environ):
        _echo(f"warning: {name} is not a setting, and is ignored (see docs/configuration.md)", err=True)
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        _fail("invalid settings: " + "; ".join(_setting_problem(item) for item in error.errors()))


def _setting_problem(item: Any) -> str:
    """One settings error, named by its variable: ``SEMSEARCH_PORT: ... (got 99999)``; one between settings
    (no single variable to name) as pydantic says it."""
    field = ".".join(str(part) for part in item.get("loc", ()))
    if not field:
        return str(item["msg"])
    given = item.get("input")
    shown = str(given) if isinstance(given, Path) else given  # a path as typed, not PosixPath('...')
    got = f" (got {shown!r})" if "input" in item and not isinstance(given, dict) else ""
    return f"SEMSEARCH_{field.upper()}: {item['msg']}{got}"


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
FilterOption = Annotated[
    str | None,
    typer.Option(
        "--filter", help="Only the documents whose metadata match (docs/api.md).", show_default=False
    ),
]
CollectionOption = Annotated[
    str | None,
    typer.Option(
        "--collection",
        help="A collection (or alias) of the data directory; default: the default one.",
        show_default=False,
    ),
]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
IgnoreOption = Annotated[
    bool,
    typer.Option(
        "--ignore/--no-ignore",
        help="Leave out what the folders' .gitignore files exclude (and those of the git work tree above).",
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="The encoding of text files (.txt .md .csv .html .tex .vtt .srt, code) that are not UTF-8 and "
        "do not declare their own: windows-1252 for most Western European text, shift_jis, cp1251... Without "
        "it they are skipped, not guessed.",
        show_default=False,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="SEMSEARCH_URL",
        help="Send to a running service at this URL instead of opening the data directory (the key comes "
        "from SEMSEARCH_WRITE_KEY; to read, SEMSEARCH_READ_KEY will do).",
        show_default=False,
    ),
]


def _service_url(ctx: typer.Context, url: str | None, data_dir: Path | None) -> str | None:
    """The service a command talks to: ``--url``, but none where ``--data-dir`` is given on the command line
    and the URL comes only from ``SEMSEARCH_URL`` (the command line over the environment: an exported URL
    must not send documents meant for a data directory to a service). Both on the command line: an error."""
    if url is None or data_dir is None:
        return url
    source = ctx.get_parameter_source("url")
    if source is None or source.name != "ENVIRONMENT":
        _fail("give --url (a running service) or --data-dir (a data directory), not both")
    return None


def _keys() -> tuple[str | None, str | None]:
    """The write and read keys of the environment, for talking to a service (not the settings of one: a
    client may hold a read key alone); of several (a service's keys while they are rotated), the first."""
    write, read = (split_keys(os.environ.get(f"SEMSEARCH_{role}_KEY", ""))[0] for role in ("WRITE", "READ"))
    return write or None, read or None


@contextmanager
def _remote(url: str, collection: str | None, read_only: bool = False) -> Iterator[Any]:
    """A client of the service at ``url`` with the write key of the environment (``read_only``: the read key
    where no write key is set); API errors become messages and exit code 1, an unreachable service exit
    code 2."""
    import httpx

    from service.client import SemsearchAPIError, SemsearchClient

    write_key, read_key = _keys()
    key = write_key or read_key if read_only else write_key
    try:
        with SemsearchClient(url, api_key=key, collection=collection) as client:
            yield client
    except SemsearchAPIError as error:
        _fail(f"the service answered {error.status}: {error.detail}", 1)
    except httpx.HTTPError as error:
        _fail(f"cannot reach the service at {url}: {error}")


def _in_collection(settings: Settings, collection: str | None, *, write: bool = False) -> Settings:
    """``settings`` for the collection (or alias) ``collection`` of the data directory: its own settings
    over them, and its folder as the data directory. To ``write`` into a collection of a sharded data
    directory, its folder is made sharded as the root is (as `semsearch serve-ray` makes and reads it)."""
    if collection is None:
        return settings
    from index.collections import Catalog
    from index.distributed.sharding import create_layout, is_sharded, read_layout
    from service.runtime import collection_settings

    with _library_errors():
        catalog = Catalog(settings.data_dir, settings.default_collection)
        name = catalog.resolve(collection)
        own = collection_settings(settings, catalog.state.collections[name])
        folder = catalog.path_of(name)
        if write and is_sharded(settings.data_dir):
            create_layout(folder, len(read_layout(settings.data_dir)))
        return own.model_copy(update={"data_dir": folder})


def _fail(message: str, code: int = 2) -> NoReturn:
    _echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# What a terminal acts on rather than shows: C0 controls but tab and newline (ESC starts the sequences that
# clear the screen, move the cursor, set the window title or make a link), DEL, and the C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(text: str) -> str:
    """``text`` safe to print on a terminal: each control character as an escape (``\\x1b``), tabs and
    newlines as they are. Documents, file names and the service's answers may hold any of them."""
    return _CONTROLS.sub(lambda control: f"\\x{ord(control.group()):02x}", text)


def _echo(message: str, *, err: bool = False) -> None:
    typer.echo(_shown(message), err=err)


@contextmanager
def _library_errors(code: int = 2, note: Callable[[], str] | None = None) -> Iterator[None]:
    """The CLI's one error boundary: a library error (bad input, a locked or incompatible data directory,
    an unknown document...) becomes its message on stderr and exit ``code``, never a traceback. ``note``
    adds context to the message (how far the command got)."""
    from index.storage.locking import DataDirLockedError

    try:
        yield
    except DataDirLockedError as error:  # a running service holds it, which --url reaches
        hint = (
            " Commands that take --url (index, sync, delete, update, collections, alias) can ask that "
            "service instead."
        )
        _fail(f"{error}{hint}{note() if note else ''}", code)
    except SemsearchError as error:
        _fail(f"{error}{note() if note else ''}", code)
    except (sqlite3.OperationalError, OSError) as error:  # a full disk, a locked database...
        fault = storage_fault(error)
        if fault is not None:
            _fail(f"{fault.message}{note() if note else ''}", code)
        if isinstance(error, OSError) and error.filename is not None and error.strerror:
            # A folder that cannot be made or read where the data directory or the model cache points.
            _fail(f"cannot use {error.filename}: {error.strerror}{note() if note else ''}", code)
        raise


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _open(settings: Settings) -> SearchIndex:
    from service.runtime import open_index

    with _library_errors():
        return open_index(settings)


@contextmanager
def _opened(settings: Settings, *, write: bool = False) -> Iterator[SearchIndex | ShardedIndex]:
    """The index in the data directory, read-only unless ``write``: one index, or all shards of a sharded
    one as one index (a document read from, written to or deleted from the shard that owns it)."""
    from index.distributed.sharding import LocalShardWriter, is_sharded, read_layout
    from service.runtime import load_model, open_all

    if not is_sharded(settings.data_dir):
        with _open(settings.model_copy(update={"read_only": not write})) as index:
            yield index
        return
    dirs = _or_fail(partial(read_layout, settings.data_dir))
    embedder = _or_fail(partial(load_model, settings))
    shards: list[SearchIndex] = []
    try:
        shards = _or_fail(partial(open_all, settings, dirs, embedder, read_only=not write))
        writers = [LocalShardWriter(shard) for shard in shards] if write else []
        sharded = ShardedIndex(embedder, shards, writers, data_dir=settings.data_dir)
        try:
            yield sharded
        finally:
            sharded.close()
    finally:
        for shard in shards:
            shard.close()
        embedder.close()


@contextmanager
def _local_index(
    data_dir: Path | None, model: str | None, collection: str | None, *, write: bool = False
) -> Iterator[SearchIndex | ShardedIndex]:
    """:func:`_opened` of the data directory (or its ``collection``) the options name; a command on a data
    directory that does not exist fails saying to index something first (a write too: it makes none)."""
    settings = _settings(data_dir=data_dir, model=model)
    if not settings.data_dir.exists():
        _fail(f"no index in {settings.data_dir}: run 'semsearch index PATH' first")
    settings = _in_collection(settings, collection, write=write)
    if not settings.data_dir.exists():
        _fail(f"no index in {settings.data_dir}: run 'semsearch index PATH' first")
    with _opened(settings, write=write) as index:
        yield index


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table for people (``--json`` prints the same data for programs)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not markup: a document's "[/b]" made rich raise, and "[link=...]" made a link.
    table = Table(title=Text(_shown(title)), title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if cell is None else _shown(str(cell))) for cell in row))
    Console(soft_wrap=False).print(table)


def _fields(title: str, values: dict[str, Any]) -> None:
    _table(title, ["", ""], [[key, value] for key, value in values.items()])


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [env: SEMSEARCH_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: SEMSEARCH_PORT].")] = None,
    data_dir: DataDir = None,
    model: Model = None,
    demo: Annotated[
        bool | None, typer.Option("--demo/--no-demo", help="Seed a new data directory with the demo corpus.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Processes on the port: the writer and read replicas beside it [env: SEMSEARCH_WORKERS].",
        ),
    ] = None,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    settings = _settings(
        host=host, port=port, data_dir=data_dir, model=model, seed_demo=demo, workers=workers
    )
    _check_listen(settings.host, settings.port)
    _check_data_dir(settings)
    if settings.worker_count() > 1:  # before the app's modules: the metrics must know they are shared
        from service import workers as worker_processes

        worker_processes.serve(settings, GRACEFUL_SHUTDOWN_SECONDS)
        return
    import uvicorn

    from service.app import create_app
    from service.observability import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # On SIGTERM: stop accepting, let requests in flight finish for up to this long, then close the
        # index (it saves the vector index); a write cut off here was never acknowledged and rolls back.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _check_data_dir(settings: Settings) -> None:
    """Fail now, with its message, if the data directory cannot be served: another writer holds it (a
    second `semsearch serve` on it), or its index is damaged or built with another model. The app checks
    the same at its start, where a failure is a traceback from uvicorn before its exit."""
    from index.encoders.base import model_id
    from index.storage.layout import check_data_dir

    with _library_errors():
        check_data_dir(settings.data_dir, model_id(settings.model), read_only=settings.read_only)


def _check_listen(host: str, port: int) -> None:
    """Fail now, saying what to do, if the service could not listen on ``host:port``: uvicorn finds out only
    once the app has started (the model loaded), and says no more than the errno (a new user's `make serve`
    while another development server holds port 8000)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind((host, port))
    except OSError as error:
        where = f"{host}:{port}"
        then = port + 1
        other = f"semsearch serve --port {then}, or SEMSEARCH_PORT={then} (make serve SEMSEARCH_PORT={then})"
        if error.errno == errno.EADDRINUSE:
            _fail(f"{where} is in use by another program: stop it, or serve on another port: {other}")
        if error.errno == errno.EACCES:
            _fail(f"cannot listen on {where}: ports below 1024 need root; serve on another port: {other}")
        if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
            _fail(
                f"cannot listen on {where}: {host!r} is not an address of this machine "
                "(SEMSEARCH_HOST or --host: 127.0.0.1 for this machine alone, 0.0.0.0 for every network)"
            )
        _fail(f"cannot listen on {where}: {error.strerror or error}")


def _text_encoding(label: str | None) -> str | None:
    """The codec ``--encoding`` names, or the command fails saying what it takes."""
    if label is None:
        return None
    try:
        return text_encoding(label)
    except InvalidInputError as error:
        _fail(f"--encoding: {error}")


def _checked(
    source: SourceFile, max_chars: int, encoding: str | None, on_skip: Callable[[str], object] | None = None
) -> Iterator[Document]:
    """The documents of ``source``; :class:`SourceError` (once read that far) if it cannot be indexed. A
    JSON Lines record that cannot be stored is left out, with a note to ``on_skip``."""
    return _within(str(source.path), read_documents(source, encoding, on_skip), max_chars)


def _within(name: str, documents: Iterable[Document], max_chars: int) -> Iterator[Document]:
    """``documents``, until one is longer than SEMSEARCH_MAX_TEXT_CHARS: a :class:`SourceError` naming
    it and ``name``, where they came from."""
    for doc in documents:
        if len(doc.text) > max_chars:
            raise SourceError(
                f"{name}: too large ({len(doc.text)} characters in {doc.id!r}; "
                f"SEMSEARCH_MAX_TEXT_CHARS is {max_chars})"
            )
        yield doc


def _archive(
    source: SourceFile, settings: Settings, encoding: str | None, problems: list[str], strict: bool
) -> list[Document]:
    """The documents of a ZIP archive or a mailbox named by itself, read as an upload of it is: what in it
    cannot be read is added to ``problems`` (with ``strict``, it is the archive's :class:`SourceError`), and
    what it holds that is not read is said on stderr."""
    from index.ingest.uploaded import read_source

    contents = read_source(source, encoding, settings.max_file_bytes)
    name = source.path.name + ": "  # the readers' words begin with the archive's name; these with its path
    found = [f"{source.path}: {str(error).removeprefix(name)}" for _, error in contents.problems]
    documents: list[Document] = []
    for document in contents.documents:
        if len(document.text) > settings.max_text_chars:
            found.append(
                f"{source.path}: {document.id}: too large ({len(document.text)} characters; "
                f"SEMSEARCH_MAX_TEXT_CHARS is {settings.max_text_chars})"
            )
            continue
        documents.append(document)
    if found and strict:
        raise SourceError(f"{found[0]}{f' (and {len(found) - 1} more in it)' if len(found) > 1 else ''}")
    problems.extend(found)
    if contents.skipped:
        _echo(f"not read: in {source.path}: {describe_unsupported(Counter(contents.skipped))}", err=True)
    if contents.left_out:
        _echo(f"left out: in {source.path}: {describe_left_out(contents.left_out)}", err=True)
    return documents


# The path that names standard input, as most commands read it.
STDIN = "-"


def _stdin_documents(
    doc_id: str | None, encoding: str | None, max_chars: int, on_skip: Callable[[str], object]
) -> tuple[int, Iterable[Document]]:
    """How many documents standard input holds, all checked, and the documents to index. JSON Lines (a
    record that cannot be stored left out, with a note to ``on_skip``) is kept in a temporary file and read
    from it a line at a time, twice, as a file is: a corpus piped from ``semsearch export`` is never held
    whole. With ``doc_id``, one document of that id, read as a file of that name would be (a name with no
    suffix it reads as text). Raises :class:`SourceError`."""
    name = "standard input"
    if doc_id is None:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed when read back, or with the process)
        shutil.copyfileobj(sys.stdin.buffer, spool)

        def documents(notes: Callable[[str], object] | None = None) -> Iterator[Document]:
            spool.seek(0)
            yield from jsonl_documents(spool, name, encoding, notes)

        def read_back() -> Iterator[Document]:
            with spool:
                yield from documents()

        return sum(1 for _ in _within(name, documents(on_skip), max_chars)), read_back()
    data = sys.stdin.buffer.read()
    file_name = doc_id if format_of(doc_id) is not None else f"{doc_id}.txt"
    try:
        document = file_document(doc_id, file_name, data, None, encoding)
    except ExtractionError as error:
        raise SourceError(f"{name}: {error}") from None
    return 1, list(_within(name, [document], max_chars))


def _read_once(
    sources: Sequence[SourceFile],
    checked: set[Path],
    max_chars: int,
    problems: list[str],
    encoding: str | None,
    archives: dict[Path, Iterable[Document]],
) -> Iterator[Document]:
    """The documents of ``sources``, each file extracted once. Those in ``checked`` were read through before
    (and passed), and an archive's documents are in ``archives``; any other file holds one document (a
    PDF, a page, a text file), read and checked here: one that cannot be indexed is reported, added to
    ``problems`` and skipped."""
    for source in sources:
        if source.path in archives:
            yield from archives[source.path]
            continue
        if source.path in checked:
            yield from read_documents(source, encoding)
            continue
        try:
            documents = list(_checked(source, max_chars, encoding))
        except SourceError as error:
            problems.append(str(error))
            _echo(f"skipped: {error}", err=True)
            continue
        yield from documents


@app.command("index")
def index_files(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files and folders (.pdf .docx .pptx .xlsx .doc .xls .ppt .odt .ods .odp .rtf .tex .csv "
            ".epub .html .eml .msg .ipynb .vtt .srt .md .txt .log .jsonl; source code and configuration: .py "
            ".json .yaml...; a .zip or .mbox named by itself: its files or messages; a picture named by "
            "itself, .png .jpg .tif..., with the ocr extra); - reads JSON Lines from standard input (what "
            "export writes), or with --id one document."
        ),
    ],
    data_dir: DataDir = None,
    url: UrlOption = None,
    model: Model = None,
    collection: CollectionOption = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="If any file cannot be indexed, index nothing (default: skip it). Reads every file "
            "before writing, so each is extracted twice.",
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Documents per transaction.")] = DEFAULT_GROUP_SIZE,
    progress: ProgressOption = True,
    as_json: JsonOption = False,
    shards: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Write a sharded data directory of this many shards (a document goes by a hash of its id).",
            show_default=False,
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Embed on a Ray cluster: 'local' starts one on this machine, 'auto' joins the running one, "
            "or give its address. Needs semsearch[ray].",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Encoder workers on Ray (one model each).")] = 2,
    encoding: EncodingOption = None,
    ignore: IgnoreOption = True,
    stdin_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="With -: standard input is one document with this id (its suffix, as .md or .pdf, says how "
            "to read it; none: text), not JSON Lines.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Index files and folders. Document ids are paths relative to the folder given (for .jsonl, the
    '_id' or 'id' of each line), so indexing again replaces instead of duplicating. Files that cannot be
    indexed (empty, binary, encrypted, scanned without text, too large, malformed) are reported one by one
    and skipped. With --url, the documents go to a running service instead. With --ray, the chunking and
    embedding run on Ray workers and give the same index, bit for bit; with --shards, the data directory
    becomes N shard directories for `semsearch serve-ray`."""
    url = _service_url(ctx, url, data_dir)
    if url is not None and (ray is not None or shards is not None):
        _fail("--url sends to a running service: it does not go with --ray or --shards")
    codec = _text_encoding(encoding)
    from_stdin = sum(str(path) == STDIN for path in paths)
    if from_stdin > 1:
        _fail("- (standard input) can be read once")
    if stdin_id is not None and not from_stdin:
        _fail("--id names the document read from standard input: give - too")
    settings = _settings(data_dir=data_dir, model=model)
    if url is None:
        settings = _in_collection(settings, collection, write=True)
        shards = _shard_count(settings.data_dir, shards)
    unsupported: Counter[str] = Counter()
    left_out: list[str] = []
    try:
        files = [path for path in paths if str(path) != STDIN]
        sources = discover(files, unsupported, ignore=ignore, left_out=left_out)
    except SourceError as error:
        _fail(str(error))
    if from_stdin:  # read now, as an archive is: it can be read only once
        sources.append(SourceFile(Path(STDIN), STDIN))
    if unsupported:
        _echo(f"not read: {describe_unsupported(unsupported)}", err=True)
    if left_out:
        _echo(f"left out: {describe_left_out(left_out)}; --no-ignore indexes them", err=True)
    # Files of many documents (.jsonl) are read through first (a line at a time), so that one bad line skips
    # its whole file; with --strict every file is, so that nothing is written unless all can be. The others
    # (one document each: a PDF is extracted once, not twice) are read and checked as indexing reaches them.
    good: list[SourceFile] = []
    problems: list[str] = []
    records: list[str] = []  # JSON Lines records left out (the rest of their files indexed)
    checked: set[Path] = set()
    # A ZIP's, a mailbox's or standard input's documents, read before the rest.
    archives: dict[Path, Iterable[Document]] = {}
    total = 0
    for source in sources:
        notes: list[str] = []  # its records left out: said only if the file is not skipped whole
        if str(source.path) == STDIN or source.format == "archive":
            try:
                if str(source.path) == STDIN:
                    count, archives[source.path] = _stdin_documents(
                        stdin_id, codec, settings.max_text_chars, notes.append
                    )
                else:
                    found = _archive(source, settings, codec, problems, strict)
                    count, archives[source.path] = len(found), found
            except SourceError as error:
                problems.append(str(error))
                continue
            records.extend(notes)
            good.append(source)
            total += count
            continue
        if not strict and source.format != "jsonl":
            good.append(source)
            total += 1
            continue
        try:
            total += sum(1 for _ in _checked(source, settings.max_text_chars, codec, notes.append))
            good.append(source)
            checked.add(source.path)
            records.extend(notes)
        except SourceError as error:
            problems.append(str(error))
    for problem in problems + records:
        _echo(f"{'refused' if strict else 'skipped'}: {problem}", err=True)
    if problems and strict:
        _fail(f"{len(problems)} file(s) cannot be indexed; nothing was changed (--strict)")
    if records and strict:
        _fail(f"{len(records)} record(s) cannot be indexed; nothing was changed (--strict)")
    if not good and problems:
        _fail(f"no documents to index: the {len(problems)} file(s) found were skipped, for the reasons above")
    if not good:
        _fail("no documents to index: give files of a supported type (see --help), or folders holding them")
    if not total and records:
        _fail(f"no documents to index: the {len(records)} record(s) found were left out, for those reasons")

    started = time.perf_counter()
    documents = _read_once(good, checked, settings.max_text_chars, problems, codec, archives)
    if url is not None:
        results = _index_remote(url, collection, documents, total, progress)
    elif ray is not None:
        results = _index_on_ray(settings, documents, total, ray, workers, shards, batch_size, progress)
    else:
        results = _index_here(settings, documents, total, shards, batch_size, progress)
    if not results and problems:
        _fail(f"no documents to index: none of the {len(problems)} file(s) could be read")
    counts = {
        status: sum(r.status == status for r in results) for status in ("created", "updated", "unchanged")
    }
    summary = {
        "documents": len(results),
        **counts,
        "chunks": sum(r.chunks for r in results),
        "skipped_files": len(problems),
        "skipped_documents": len(records),
        "skipped": problems + records,
        "unsupported_files": dict(unsupported.most_common()),
        "ignored": left_out,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if as_json:
        _echo_json(summary)
        return
    where = url if url is not None else settings.data_dir
    _fields(
        f"Indexed into {where}",
        {k: v for k, v in summary.items() if k not in ("skipped", "unsupported_files", "ignored")},
    )


def _index_remote(
    url: str, collection: str | None, documents: Iterable[Document], total: int, progress: bool
) -> list[UpsertResult]:
    from tqdm import tqdm

    from service.sync import RemoteTarget, remote_batches

    results: list[UpsertResult] = []
    with (
        _remote(url, collection) as client,
        tqdm(total=total, unit="doc", disable=not progress, file=sys.stderr) as bar,
    ):
        target = RemoteTarget(client, url)
        for batch in remote_batches(documents):
            results.extend(target.upsert(batch))
            bar.update(len(batch))
    return results


@app.command("mcp")
def mcp_stdio(
    ctx: typer.Context, data_dir: DataDir = None, url: UrlOption = None, model: Model = None
) -> None:
    """Serve semsearch's MCP tools (search, get_document, list_collections; add_documents with a write key)
    over stdio, for desktop agents: forwarding to a running service with --url (keys from
    SEMSEARCH_WRITE_KEY or SEMSEARCH_READ_KEY), or reading the data directory (read-only, beside a running
    service too). The README shows an agent's configuration."""
    url = _service_url(ctx, url, data_dir)
    from service.mcp_server import local_stdio_server, remote_stdio_server

    if url is not None:
        write, read = _keys()
        server = remote_stdio_server(url, write, read)
    else:
        server = local_stdio_server(_settings(data_dir=data_dir, model=model))
    with _library_errors():
        server.run("stdio")


@app.command("sync")
def sync_folder(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="The folder to mirror.", exists=True, file_okay=False)],
    data_dir: DataDir = None,
    url: UrlOption = None,
    collection: CollectionOption = None,
    prefix: Annotated[str, typer.Option(help="Put before each file's path to make its document id.")] = "",
    source: Annotated[
        str | None,
        typer.Option(
            help="The name documents from this folder carry in their 'source' metadata, by which the next "
            "sync finds them (default: the folder's absolute path).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; change nothing.")
    ] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Keep following the folder (Ctrl-C stops).")] = False,
    encoding: EncodingOption = None,
    ignore: IgnoreOption = True,
    watch_timeout: Annotated[
        float | None,
        typer.Option(min=0, help="With --watch: stop after this many seconds.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Mirror a folder into the index: add new files, replace changed ones (by the SHA-256 of their bytes),
    delete the documents of files that are gone. Only documents synced from this folder are touched.
    Works on a data directory, or on a running service with --url.

    Examples:

    \b
      semsearch sync ./handbook --dry-run
      semsearch sync ./handbook --url http://127.0.0.1:8000 --watch"""
    url = _service_url(ctx, url, data_dir)
    from service.sync import LocalTarget, RemoteTarget, SyncReport
    from service.sync import sync_folder as run_sync

    label = source or str(folder.resolve())
    codec = _text_encoding(encoding)
    settings = _settings(data_dir=data_dir)

    def report(result: SyncReport) -> None:
        if as_json:
            _echo_json(result.as_dict())
            return
        for problem in result.failed:
            _echo(f"failed: {problem}", err=True)
        for note in result.skipped:
            _echo(f"skipped: {note}", err=True)
        title = f"{'Would sync' if dry_run else 'Synced'} {folder} into {result.target}"
        counts = {
            "added": len(result.added),
            "updated": len(result.updated),
            "deleted": len(result.deleted),
            "moved": result.moved,
            "unchanged": result.unchanged,
            "failed": len(result.failed),
        }
        _fields(title, counts)

    with contextlib.ExitStack() as stack:
        target: Any
        if url is not None:
            target = RemoteTarget(stack.enter_context(_remote(url, collection)), url)
        else:
            settings = _in_collection(settings, collection, write=True)
            target = LocalTarget(stack.enter_context(_opened(settings, write=True)))
        stack.enter_context(_library_errors(1))

        def once() -> None:
            report(
                run_sync(
                    folder,
                    target,
                    source=label,
                    prefix=prefix,
                    dry_run=dry_run,
                    max_chars=settings.max_text_chars,
                    encoding=codec,
                    ignore=ignore,
                )
            )

        once()
        if watch:
            import threading

            from service.sync import watch as follow

            stop = threading.Event()
            if watch_timeout is not None:
                timer = threading.Timer(watch_timeout, stop.set)
                timer.daemon = True
                timer.start()
            with contextlib.suppress(KeyboardInterrupt):
                follow(folder, once, stop=stop)


def _shard_count(data_dir: Path, asked: int | None) -> int | None:
    """How many shards indexing writes: those of a sharded data directory where none were asked for (its
    documents go to their shards, not beside them), else as asked (a count other than the directory's is
    refused when its layout is read)."""
    from index.distributed.sharding import is_sharded, read_layout

    if asked is not None or not is_sharded(data_dir):
        return asked
    return len(_or_fail(partial(read_layout, data_dir)))


def _index_here(
    settings: Settings,
    documents: Iterable[Document],
    total: int,
    shards: int | None,
    size: int,
    progress: bool,
) -> list[UpsertResult]:
    from tqdm import tqdm

    from index.distributed.sharding import create_layout, sharded_batches
    from index.ingest.preparation import batches
    from service.runtime import load_model, open_all

    results: list[UpsertResult] = []
    if shards is None:
        cut: Iterable[tuple[int, list[Document]]] = ((0, group) for group in batches(documents, size))
        dirs = [settings.data_dir]
    else:
        cut = sharded_batches(documents, size, shards)
        dirs = _or_fail(lambda: create_layout(settings.data_dir, shards))
    embedder = _or_fail(lambda: load_model(settings))
    indexes: list[SearchIndex] = []
    try:
        indexes = _or_fail(partial(open_all, settings, dirs, embedder))
        indexed_before = lambda: f" ({len(results)} documents were indexed before this)"  # noqa: E731
        with (
            tqdm(total=total, unit="doc", disable=not progress, file=sys.stderr) as bar,
            _library_errors(1, indexed_before),
        ):
            if shards is None:  # the next group is read and chunked while this one embeds
                for done in indexes[0].upsert_stream((group for _, group in cut), on_embedded=bar.update):
                    results.extend(done)
            else:
                for shard, group in cut:
                    results.extend(indexes[shard].upsert(group, on_embedded=bar.update))
    finally:
        for index in indexes:
            index.close()
        embedder.close()
    return results


def _index_on_ray(
    settings: Settings,
    documents: Iterable[Document],
    total: int,
    address: str,
    workers: int,
    shards: int | None,
    size: int,
    progress: bool,
) -> list[UpsertResult]:
    from tqdm import tqdm

    from index.distributed.ray_ingest import EmbedderSpec, RayIngestOptions, ray_index

    _require_ray()
    spec = EmbedderSpec(
        settings.model,
        settings.embed_backend,
        settings.resolved_model_cache_dir(),
        settings.embed_batch_size,
        # One worker per CPU Ray gives it: each encoder runs on one thread, unless told otherwise.
        settings.encode_threads or 1,
    )
    options = RayIngestOptions(None if address == "local" else address, workers, 1.0, size)
    with tqdm(total=total, unit="doc", disable=not progress, file=sys.stderr) as bar, _library_errors(1):
        return ray_index(
            documents,
            settings.data_dir,
            spec,
            options,
            shards=shards,
            chunking=settings.chunking(),
            vectors=settings.vectors(),
            on_written=bar.update,
        )


def _require_ray() -> None:
    try:
        import ray
        import ray.data
        import ray.serve  # noqa: F401
    except ImportError:
        _fail("this needs Ray, an optional extra: pip install 'semsearch[ray]'")


def _or_fail(call: Callable[[], T]) -> T:
    with _library_errors():
        return call()


@app.command("reshard")
def reshard_command(
    source: Annotated[Path, typer.Argument(help="A data directory, plain or sharded.")],
    destination: Annotated[Path, typer.Argument(help="A new directory for the sharded copy.")],
    shards: Annotated[int, typer.Option(min=1, help="Shards in the copy.")],
    model: Model = None,
    progress: ProgressOption = True,
) -> None:
    """Copy an index into a new sharded data directory of N shards, moving chunks and embeddings as they
    are: nothing is embedded again. The source is only read (from one snapshot per shard), so the service
    can go on serving it meanwhile."""
    from tqdm import tqdm

    from index.distributed.sharding import create_layout, is_sharded, read_layout, reshard
    from service.runtime import load_model, open_all

    if destination.exists() and any(destination.iterdir()):
        _fail(f"{destination} is not empty: reshard into a new directory")
    settings = _settings(data_dir=source, model=model)
    dirs = _or_fail(partial(read_layout, source)) if is_sharded(source) else [source]
    embedder = _or_fail(partial(load_model, settings))
    sources: list[SearchIndex] = []
    targets: list[SearchIndex] = []
    started = time.perf_counter()
    try:
        sources = _or_fail(partial(open_all, settings, dirs, embedder, read_only=True))
        new_dirs = _or_fail(partial(create_layout, destination, shards))
        targets = _or_fail(partial(open_all, settings, new_dirs, embedder))
        total = sum(s.stats().documents for s in sources)
        with tqdm(total=total, unit="doc", disable=not progress, file=sys.stderr) as bar:
            copied = reshard(sources, targets, on_progress=bar.update)
    finally:
        for index in [*sources, *targets]:
            index.close()
        embedder.close()
    _fields(
        f"Resharded into {destination}",
        {"documents": copied, "shards": shards, "seconds": round(time.perf_counter() - started, 2)},
    )


@app.command("serve-ray")
def serve_ray(
    data_dir: Annotated[Path, typer.Argument(help="A sharded data directory (made by `index --shards`).")],
    shards: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Create the sharded data directory with this many shards if it is new.",
            show_default=False,
        ),
    ] = None,
    replicas: Annotated[int, typer.Option(min=1, help="Read replicas per shard.")] = 1,
    routers: Annotated[int, typer.Option(min=1, help="Router replicas (the HTTP entry points).")] = 1,
    ray: Annotated[
        str,
        typer.Option("--ray", help="'local' starts Ray on this machine, 'auto' joins the running cluster."),
    ] = "local",
    host: Annotated[str, typer.Option(help="Address Ray Serve listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    shard_resource: Annotated[
        str | None,
        typer.Option(
            help="Pin shard i to nodes offering the custom Ray resource '<this>-<i>' (where its files are).",
            show_default=False,
        ),
    ] = None,
    model: Model = None,
) -> None:
    """Serve a sharded data directory on Ray Serve: every shard with its read replicas and one writer, behind
    routers that answer the same HTTP API as `semsearch serve`. Stops on Ctrl-C (see docs/scaling.md)."""
    _require_ray()
    import ray as ray_module
    from ray import serve

    from index.distributed.sharding import is_sharded
    from service.observability import configure_logging
    from service.ray_serve import build_application, prepare_shards

    settings = _settings(data_dir=data_dir, model=model)
    configure_logging(settings.log_level, settings.log_json)
    if shards is not None:
        _or_fail(lambda: prepare_shards(settings, shards))
    elif not is_sharded(data_dir):
        _fail(
            f"{data_dir} is not a sharded data directory: make one with `semsearch index --shards N` "
            "or pass --shards"
        )
    if ray == "local":
        ray_module.init(address="local", include_dashboard=False)
    else:
        ray_module.init(address=ray)
    serve.start(http_options={"host": host, "port": port})

    def resource(shard: int) -> dict[str, float]:
        return {f"{shard_resource}-{shard}": 0.01}

    application = build_application(
        settings, replicas=replicas, routers=routers, shard_resource=resource if shard_resource else None
    )
    serve.run(application, name="semsearch", route_prefix="/", blocking=True)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(help="What to look for, of any length; - reads it from stdin.")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many hits.")] = 10,
    min_score: Annotated[float | None, typer.Option(help="Drop hits scoring lower.")] = None,
    like: Annotated[
        str | None,
        typer.Option("--like", help="More like this stored document (its id), instead of a query."),
    ] = None,
    like_chunk: Annotated[
        int | None, typer.Option("--like-chunk", min=0, help="More like this stored chunk (its chunk id).")
    ] = None,
    filter_json: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help='Only documents whose metadata match (docs/api.md): \'{"field": "tags", "eq": "ops"}\'.',
        ),
    ] = None,
    mode: Annotated[
        SearchMode, typer.Option(help="hybrid (the default), dense (meaning) or keyword (words).")
    ] = "hybrid",
    diversity: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Above 0: hits relevant and unlike each other (maximal marginal relevance)."
        ),
    ] = 0.0,
    keep_duplicates: Annotated[
        bool,
        typer.Option(
            "--keep-duplicates",
            help="A hit for every chunk, even of the same text as a better one in another document (by "
            "default that one hit names the others).",
        ),
    ] = False,
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
    as_json: JsonOption = False,
) -> None:
    """Search the index: a table of hits, or one JSON object per hit with --json. Searches a running
    service with --url (the read key will do), else the data directory, beside a running service too.

    Examples:

    \b
      semsearch search "how do tides make electricity?" -k 5
      pbpaste | semsearch search -
      semsearch search --like demo/faq.md
      semsearch search restore --filter '{"field": "tags", "eq": "ops"}'
      semsearch search "error 0x80070005" --mode keyword
      semsearch search "tidal power" --url http://127.0.0.1:8000"""
    url = _service_url(ctx, url, data_dir)
    if query == "-":
        query = sys.stdin.read()
    given = [value for value in (query, like, like_chunk) if value is not None]
    if len(given) != 1:
        _fail("give a query, --like ID or --like-chunk N (exactly one)")
    example = None if query is not None else Like(doc_id=like, chunk_id=like_chunk)
    metadata_filter = _filter_option(filter_json)
    options: dict[str, Any] = {"k": k, "min_score": min_score, "filter": metadata_filter, "mode": mode}
    options["duplicates"] = "keep" if keep_duplicates else "collapse"
    if url is not None:
        like_body = None if example is None else {"id": like} if like is not None else {"chunk": like_chunk}
        with _remote(url, collection, read_only=True) as client:
            answer = client.search(query, like=like_body, diversity=diversity, **options)
        hits, query_pieces = [hit.model_dump(mode="json") for hit in answer.hits], answer.query_pieces
    else:
        with _local_index(data_dir, model, collection) as search_index, _library_errors():
            result = search_index.search(query or "", like=example, diversity=diversity, **options)
        hits, query_pieces = [to_dict(hit) for hit in result.hits], result.query_pieces
    if as_json:
        for hit in hits:
            _echo_json(hit)
        return
    rows = []
    for n, hit in enumerate(hits, 1):
        start, end = hit["highlight"]["start"] - hit["start"], hit["highlight"]["end"] - hit["start"]
        best = hit["text"][start:end].strip()
        also = f" (+{len(hit['duplicates'])} with this text)" if hit["duplicates"] else ""
        rows.append([n, f"{hit['score']:.3f}", hit["title"] or hit["doc_id"], hit["doc_id"] + also, best])
    if example is not None:
        what = f"like {like!r}" if like is not None else f"like chunk {like_chunk}"
    else:
        shown = " ".join((query or "").split())
        what = f"for {shown[:60] + '...' if len(shown) > 60 else shown!r}"
    pieces = f" (searched in {query_pieces} pieces)" if query_pieces > 1 else ""
    _table(f"{len(rows)} hits {what}{pieces}", ["#", "score", "title", "id", "best sentence"], rows)


@app.command()
def facets(
    ctx: typer.Context,
    field: Annotated[
        str, typer.Argument(help="A metadata key (author; author.name reaches into an object).")
    ],
    filter_json: FilterOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most values shown.")] = 20,
    order: Annotated[
        FacetOrder, typer.Option(help="count: the most held first; value: numbers, strings, false, true.")
    ] = "count",
    contains: Annotated[
        str | None,
        typer.Option(help="Only string values holding this, case aside.", show_default=False),
    ] = None,
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
    as_json: JsonOption = False,
) -> None:
    """A metadata field's values with how many documents hold each, the most held first (from a running
    service with --url, else the data directory).

    Examples:

    \b
      semsearch facets author
      semsearch facets tags --filter '{"field": "lang", "eq": "en"}'"""
    url = _service_url(ctx, url, data_dir)
    metadata_filter = _filter_option(filter_json)
    if url is not None:
        with _remote(url, collection, read_only=True) as client:
            found = client.facets(
                field, filter=metadata_filter, limit=limit, order=order, contains=contains
            ).model_dump()
    else:
        with _local_index(data_dir, model, collection) as search_index, _library_errors():
            found = to_dict(
                search_index.facet(
                    field, filter_spec=metadata_filter, limit=limit, order=order, contains=contains
                )
            )
    if as_json:
        _echo_json(found)
        return
    rows = [[v["value"], v["count"]] for v in found["values"]]
    title = f"{field}: {_plural(found['distinct'], 'value')}" + (
        f", the first {len(rows)}" if len(rows) < found["distinct"] else ""
    )
    _table(title, ["value", "documents"], rows)


@app.command()
def fields(
    ctx: typer.Context,
    filter_json: FilterOption = None,
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
    as_json: JsonOption = False,
) -> None:
    """The metadata keys the documents hold, with how many documents hold each and of which JSON types
    (from a running service with --url, else the data directory), and how many documents there are.

    Examples:

    \b
      semsearch fields
      semsearch fields --filter '{"field": "lang", "eq": "en"}'"""
    url = _service_url(ctx, url, data_dir)
    metadata_filter = _filter_option(filter_json)
    found: list[dict[str, Any]] = []
    if url is not None:
        with _remote(url, collection, read_only=True) as client:
            documents = client.count(metadata_filter)
            found = [field.model_dump() for field in client.iter_fields(filter=metadata_filter)]
    else:
        from service.schemas import MetadataFieldOut  # the same items as the API's, `field` included

        with _local_index(data_dir, model, collection) as search_index, _library_errors():
            documents = search_index.count(metadata_filter)
            after = None
            while True:
                listed = to_dict(search_index.fields(metadata_filter, after=after, limit=10_000))
                found += [MetadataFieldOut.model_validate(item).model_dump() for item in listed["fields"]]
                if (after := listed["next"]) is None:
                    break
    if as_json:
        _echo_json({"documents": documents, "fields": found})
        return
    rows = [
        [f["name"], f["documents"], ", ".join(f"{kind} {n}" for kind, n in f["types"].items())] for f in found
    ]
    title = f"{_plural(len(found), 'metadata key')} over {_plural(documents, 'document')}"
    _table(title, ["key", "documents", "types"], rows)


@app.command()
def stats(
    ctx: typer.Context,
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
    as_json: JsonOption = False,
) -> None:
    """Documents, chunks, model and index type of the index: of a running service with --url (the read key
    will do), else of the data directory, beside a running service too."""
    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, collection, read_only=True) as client:
            values = client.stats().model_dump(mode="json")
    else:
        with _local_index(data_dir, model, collection) as search_index:
            values = to_dict(search_index.stats())
    if as_json:
        _echo_json(values)
    else:
        _fields("Index", values)


def _filter_option(filter_json: str | None) -> Any:
    """The metadata filter given as ``--filter`` JSON, or None."""
    if filter_json is None:
        return None
    try:
        return parse_json(filter_json, "--filter")
    except InvalidInputError as error:
        _fail(f"{error}: {filter_json[:200]!r}")


IdsArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Document ids, as search and export show them.", show_default=False),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="List the documents it would change; change nothing.")
]
MissingOkOption = Annotated[
    bool, typer.Option("--missing-ok", help="An id with no document is not an error (exit code 0).")
]


class _Documents(Protocol):
    """Documents to get, delete and update, of a running service or a data directory: a call on an id with
    no document returns False."""

    def get(self, doc_id: str) -> DocumentOut: ...

    def exists(self, doc_id: str) -> bool: ...

    def matching(self, metadata_filter: Any) -> list[str]: ...

    def delete(self, doc_id: str) -> bool: ...

    def delete_where(self, metadata_filter: Any) -> MetadataUpdate: ...

    def update(self, doc_id: str, patch: dict[str, Any]) -> bool: ...

    def update_where(self, metadata_filter: Any, patch: dict[str, Any]) -> MetadataUpdate: ...


class _ServiceDocuments:
    """:class:`_Documents` of a running service."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _found(self, call: Callable[[], object], doc_id: str) -> bool:
        from service.client import NotFoundError

        try:
            call()
        except NotFoundError as error:
            if error.detail != str(DocumentNotFoundError(doc_id)):  # no such collection, say
                raise
            return False
        return True

    def get(self, doc_id: str) -> DocumentOut:
        return cast("DocumentOut", self.client.get_document(doc_id))

    def exists(self, doc_id: str) -> bool:
        return self._found(partial(self.client.get_document, doc_id), doc_id)

    def matching(self, metadata_filter: Any) -> list[str]:
        return [
            document.id for document in self.client.iter_documents(filter=metadata_filter, page_size=1000)
        ]

    def delete(self, doc_id: str) -> bool:
        return self._found(partial(self.client.delete_document, doc_id), doc_id)

    def delete_where(self, metadata_filter: Any) -> MetadataUpdate:
        deleted = list(self.client.delete_where(metadata_filter).deleted)
        return MetadataUpdate(len(deleted), deleted)

    def update(self, doc_id: str, patch: dict[str, Any]) -> bool:
        return self._found(partial(self.client.update_metadata, doc_id, patch), doc_id)

    def update_where(self, metadata_filter: Any, patch: dict[str, Any]) -> MetadataUpdate:
        answer = self.client.update_where(metadata_filter, patch)
        return MetadataUpdate(answer.matched, list(answer.updated))


class _IndexDocuments:
    """:class:`_Documents` of a data directory (one index, or a sharded one)."""

    def __init__(self, index: SearchIndex | ShardedIndex) -> None:
        self.index = index

    def _found(self, call: Callable[[], object], doc_id: str) -> bool:
        try:
            call()
        except DocumentNotFoundError:
            return False
        return True

    def get(self, doc_id: str) -> DocumentOut:
        from service.schemas import DocumentOut  # the same fields as the API's

        return DocumentOut.model_validate(to_dict(self.index.get(doc_id)))

    def exists(self, doc_id: str) -> bool:
        return self._found(partial(self.index.get, doc_id), doc_id)

    def matching(self, metadata_filter: Any) -> list[str]:
        found: list[str] = []
        while page := self.index.list_documents(
            after=found[-1] if found else None, limit=_EXPORT_PAGE, filter_spec=metadata_filter
        ):
            found += [document.id for document in page]
        return found

    def delete(self, doc_id: str) -> bool:
        return self._found(partial(self.index.delete, doc_id), doc_id)

    def delete_where(self, metadata_filter: Any) -> MetadataUpdate:
        deleted = self.index.delete_where(metadata_filter)
        return MetadataUpdate(len(deleted), deleted)

    def update(self, doc_id: str, patch: dict[str, Any]) -> bool:
        return self._found(partial(self.index.update_metadata, doc_id, patch), doc_id)

    def update_where(self, metadata_filter: Any, patch: dict[str, Any]) -> MetadataUpdate:
        return self.index.update_where(metadata_filter, patch)


@contextmanager
def _documents(
    ctx: typer.Context,
    url: str | None,
    data_dir: Path | None,
    model: str | None,
    collection: str | None,
    *,
    write: bool,
    done: list[str] | None = None,
) -> Iterator[tuple[_Documents, str]]:
    """The documents of the service at ``--url`` (with the write key if ``write``, else the read key will
    do), else of the data directory (opened to write if ``write``), and where they are, for messages.
    A failure part-way through a change says how many of ``done`` were changed before it."""
    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, collection, read_only=not write) as client:
            yield _ServiceDocuments(client), url + (f" (collection {collection})" if collection else "")
        return
    note = None if done is None else (lambda: f" ({_plural(len(done), 'document')} changed before this)")
    with _local_index(data_dir, model, collection, write=write) as index, _library_errors(1, note):
        yield _IndexDocuments(index), str(index.data_dir)


def _ids_or_filter(ids: list[str] | None, filter_json: str | None) -> tuple[list[str], Any]:
    """The documents a command acts on: ids or a metadata filter, exactly one of them."""
    metadata_filter = _filter_option(filter_json)
    if bool(ids) == (metadata_filter is not None):
        _fail("give document ids or --filter (exactly one of them)")
    return ids or [], metadata_filter


def _change(
    ctx: typer.Context,
    patch: dict[str, Any] | None,
    where: tuple[str | None, Path | None, str | None, str | None],
    targets: tuple[list[str] | None, str | None],
    *,
    dry_run: bool,
    missing_ok: bool,
    as_json: bool,
) -> None:
    """Patch the metadata of (or, with no ``patch``, delete) the documents ``targets`` name (ids, one at a
    time, or --filter's JSON, in one go) of the service or data directory ``where`` names (--url,
    --data-dir, --model, --collection). With ``dry_run`` nothing changes: it lists what would. Prints the ids
    changed one a line (with ``as_json`` one JSON object: how many matched, the ids changed, those with no
    document), and on stderr the ids with no document and a summary; exit code 1 where an id had no
    document, unless ``missing_ok``."""
    verb = "delete" if patch is None else "update"

    def one(documents: _Documents, doc_id: str) -> bool:
        return documents.delete(doc_id) if patch is None else documents.update(doc_id, patch)

    def every(documents: _Documents, spec: Any) -> MetadataUpdate:
        return documents.delete_where(spec) if patch is None else documents.update_where(spec, patch)

    ids, metadata_filter = _ids_or_filter(*targets)
    changed: list[str] = []
    missing: list[str] = []
    matched = 0
    with _documents(ctx, *where, write=not dry_run, done=changed) as (documents, place):
        if metadata_filter is not None:
            found = documents.matching(metadata_filter) if dry_run else None
            result = (
                MetadataUpdate(len(found), found) if found is not None else every(documents, metadata_filter)
            )
            matched, changed[:] = result.matched, result.updated
        for doc_id in ids:
            if documents.exists(doc_id) if dry_run else one(documents, doc_id):
                changed.append(doc_id)
                matched += 1
            else:
                missing.append(doc_id)
    if as_json:
        _echo_json({"matched": matched, verb + "d": changed, "not_found": missing, "dry_run": dry_run})
    else:
        for doc_id in changed:
            _echo(doc_id)
    for doc_id in missing:
        _echo(f"not found: {doc_id}", err=True)
    done = f"would {verb}" if dry_run else f"{verb}d"
    _echo(f"{done} {_plural(len(changed), 'document')} in {place}", err=True)
    if missing and not missing_ok:
        raise typer.Exit(1)


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(seconds))


@app.command("get")
def get_document(
    ctx: typer.Context,
    doc_id: Annotated[str, typer.Argument(help="The document's id, as search and export show it.")],
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
    as_json: JsonOption = False,
) -> None:
    """A stored document: its title, metadata and dates, then its text (with --json, as GET /documents/ID
    gives it: its chunks with their offsets and pages too). From a running service with --url (the read
    key will do), else from the data directory, beside a running service too.

    Examples:

    \b
      semsearch get demo/faq.md
      semsearch get demo/faq.md --json | jq .metadata"""
    with _documents(ctx, url, data_dir, model, collection, write=False) as (documents, _):
        document = documents.get(doc_id)
    if as_json:
        _echo_json(document.model_dump(mode="json"))
        return
    pages = [chunk.page_end or chunk.page for chunk in document.chunks if chunk.page is not None]
    values = {
        "title": document.title,
        "characters": len(document.text),
        "chunks": len(document.chunks),
        **({"pages": max(pages)} if pages else {}),
        "created": _when(document.created_at),
        "updated": _when(document.updated_at),
        "metadata": json.dumps(document.metadata, ensure_ascii=False),
    }
    _fields(document.id, values)
    _echo(document.text)


@app.command("delete")
def delete_documents(
    ctx: typer.Context,
    ids: IdsArgument = None,
    filter_json: FilterOption = None,
    dry_run: DryRunOption = False,
    missing_ok: MissingOkOption = False,
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
    as_json: JsonOption = False,
) -> None:
    """Delete documents, their chunks and vectors with them: by id, or every document whose metadata match
    --filter (in one transaction). Prints the ids deleted; an id with no document is reported and makes the
    exit code 1 (the others are deleted). With --url, from a running service (the write key).

    Examples:

    \b
      semsearch delete notes/old.md notes/older.md
      semsearch delete --filter '{"field": "lang", "eq": "fr"}' --dry-run
      semsearch delete tram-42 --url http://127.0.0.1:8000"""
    where = (url, data_dir, model, collection)
    _change(ctx, None, where, (ids, filter_json), dry_run=dry_run, missing_ok=missing_ok, as_json=as_json)


@app.command("update")
def update_documents(
    ctx: typer.Context,
    ids: IdsArgument = None,
    metadata_json: Annotated[
        str | None,
        typer.Option(
            "--metadata",
            help="A JSON Merge Patch of the metadata: keys set, objects merged, null removing a key.",
            show_default=False,
        ),
    ] = None,
    filter_json: FilterOption = None,
    dry_run: DryRunOption = False,
    missing_ok: MissingOkOption = False,
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
    as_json: JsonOption = False,
) -> None:
    """Change documents' metadata without indexing their text again (nothing is embedded): by id, or every
    document whose metadata match --filter, all of them or, if the patch would make any one's metadata
    invalid, none. Prints the ids whose metadata changed (by id: every one found); an id with no document is
    reported and makes the exit code 1. With --url, on a running service (the write key).

    Examples:

    \b
      semsearch update notes/plan.md --metadata '{"status": "done"}'
      semsearch update --filter '{"field": "year", "lt": 2020}' \\
          --metadata '{"archived": true, "draft": null}'"""
    if metadata_json is None:
        _fail('give the change as --metadata JSON, a merge patch: \'{"status": "done"}\'')
    try:
        patch = parse_json(metadata_json, "--metadata")
    except InvalidInputError as error:
        _fail(f"{error}: {metadata_json[:200]!r}")
    if not isinstance(patch, dict):
        _fail(f"--metadata must be a JSON object (a merge patch): {metadata_json!r}")
    where = (url, data_dir, model, collection)
    _change(ctx, patch, where, (ids, filter_json), dry_run=dry_run, missing_ok=missing_ok, as_json=as_json)


@app.command("export")
def export_documents(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (default: standard output).", show_default=False),
    ] = None,
    filter_json: FilterOption = None,
    url: UrlOption = None,
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    model: Model = None,
) -> None:
    """Every document as it was sent (id, title, text, metadata), one JSON object a line, in id order: the
    corpus in a form any tool reads, and that 'semsearch index FILE.jsonl' indexes again (page breaks and
    all). From a running service with --url (the read key will do), else from the data directory, beside a
    running service too.

    Examples:

    \b
      semsearch export -o corpus.jsonl
      semsearch export --url http://127.0.0.1:8000 > corpus.jsonl
      semsearch export --filter '{"field": "lang", "eq": "en"}' -o english.jsonl"""
    url = _service_url(ctx, url, data_dir)
    metadata_filter = _filter_option(filter_json)
    with contextlib.ExitStack() as stack:
        if url is not None:
            client = stack.enter_context(_remote(url, collection, read_only=True))

            def page(after: str | None) -> Sequence[Any]:
                listed = client.list_documents(
                    after=after, limit=_EXPORT_PAGE, filter=metadata_filter, include_text=True
                )
                return cast(Sequence[Any], listed.documents)

        else:
            reader = stack.enter_context(_local_index(data_dir, model, collection))
            stack.enter_context(_library_errors())

            def page(after: str | None) -> Sequence[Any]:
                return reader.list_documents(
                    after=after, limit=_EXPORT_PAGE, filter_spec=metadata_filter, with_text=True
                )

        sink = stack.enter_context(_whole_or_nothing(output)) if output else sys.stdout
        count = 0
        after: str | None = None
        while documents := page(after):
            for document in documents:
                record = {"id": document.id, "title": document.title, "text": document.text}
                sink.write(json.dumps({**record, "metadata": document.metadata}, ensure_ascii=False) + "\n")
            count += len(documents)
            after = documents[-1].id
    _echo(f"exported {_plural(count, 'document')}" + (f" to {output}" if output else ""), err=True)


@contextmanager
def _whole_or_nothing(path: Path) -> Iterator[Any]:
    """A text file written beside ``path`` that becomes ``path`` only once complete: an export cut short
    (a service gone, Ctrl-C) leaves no file that looks whole."""
    partial_path = path.with_name(f".{path.name}.partial")
    try:
        sink = partial_path.open("w", encoding="utf-8")
    except OSError as error:
        _fail(f"cannot write {path}: {error.strerror or error}")
    try:
        with sink:
            yield sink
        os.replace(partial_path, path)
    finally:
        partial_path.unlink(missing_ok=True)


@app.command("snapshot")
def take_snapshot(
    destination: Annotated[Path, typer.Argument(help="A new folder for the copy.")],
    data_dir: DataDir = None,
    collection: CollectionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Copy the index consistently to DESTINATION, even while the service writes to it (no model needed).
    The copy is a data directory: serve it read-only, or put it back with 'semsearch restore'.

    Example: semsearch snapshot /backups/semsearch-2026-11-28 --data-dir /data
    """
    from index.storage.snapshot import snapshot

    settings = _in_collection(_settings(data_dir=data_dir), collection)
    # No progress bar: SQLite's online backup copies the database in one consistent step (see
    # index.storage.snapshot); the table reports how long it took.
    with _library_errors():
        info = snapshot(settings.data_dir, destination)
    values = {**to_dict(info), "seconds": round(info.seconds, 2)}
    _echo_json(values) if as_json else _fields("Snapshot", values)


@app.command("restore")
def restore_snapshot(
    source: Annotated[Path, typer.Argument(help="A folder made by 'semsearch snapshot'.")],
    data_dir: DataDir = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the index with the snapshot SOURCE. Stop the service first: a running service holds the data
    directory, and restore refuses to run under it.

    Example: semsearch restore /backups/semsearch-2026-11-28 --data-dir /data
    """
    from tqdm import tqdm

    from index.storage.snapshot import restore

    settings = _settings(data_dir=data_dir)
    with _library_errors(), tqdm(unit="B", unit_scale=True, file=sys.stderr, disable=as_json) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        restore(source, settings.data_dir, progress=advance)
    values = {"restored": str(source), "data_dir": str(settings.data_dir)}
    _echo_json(values) if as_json else _fields("Restored", values)


@app.command("eval")
def evaluate(
    dataset_dir: Annotated[
        Path, typer.Argument(help="BEIR dataset folder: corpus.jsonl, queries.jsonl, qrels/.")
    ],
    split: Annotated[str, typer.Option(help="Which qrels/<split>.tsv to score.")] = "test",
    modes: Annotated[
        str, typer.Option(help="Comma-separated: dense, keyword, hybrid.")
    ] = "dense,keyword,hybrid",
    fusion: Annotated[str, typer.Option(help="Hybrid fusion: blend or rrf.")] = _SEARCH_DEFAULTS.fusion,
    weight: Annotated[
        float, typer.Option(min=0, max=1, help="Dense weight of the blend.")
    ] = _SEARCH_DEFAULTS.weight,
    rrf_k: Annotated[float, typer.Option(min=0, help="The RRF constant.")] = _SEARCH_DEFAULTS.rrf_k,
    run_dir: Annotated[Path, typer.Option(help="Where the TREC run files go.")] = Path("runs"),
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Keep the index here (re-runs skip embedding); default: a scratch dir."
        ),
    ] = None,
    model: Model = None,
    collection: CollectionOption = None,
    progress: ProgressOption = True,
    ignore_identical_ids: Annotated[
        bool,
        typer.Option(
            "--ignore-identical-ids",
            help="Leave out a hit whose document id is the query's id (BEIR's convention for datasets whose "
            "queries are also documents, such as ArguAna and Quora).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Index a BEIR dataset (into a collection of --data-dir with --collection, to measure its settings)
    and report nDCG@10, Recall@100 and MRR@10 (trec_eval) per mode, as JSON lines;
    writes one TREC run file per mode (compare two of them with `semsearch compare`)."""
    import tempfile

    from tqdm import tqdm

    from index.retrieval.evaluation import evaluate_modes, index_dataset, load_dataset, write_trec_run

    wanted = [mode.strip() for mode in modes.split(",") if mode.strip()]
    if not wanted or any(mode not in ("dense", "keyword", "hybrid") for mode in wanted):
        _fail(f"--modes takes dense, keyword and/or hybrid, got {modes!r}")
    if fusion not in ("blend", "rrf"):
        _fail(f"--fusion takes blend or rrf, got {fusion!r}")
    with _library_errors():
        dataset = load_dataset(dataset_dir, split)
    with tempfile.TemporaryDirectory(prefix="semsearch-eval-") as scratch:
        settings = _settings(data_dir=data_dir or Path(scratch), model=model, seed_demo=False)
        if collection is not None and data_dir is None:
            _fail("--collection names a collection of --data-dir: give both")
        settings = _in_collection(settings, collection)
        left_out: list[str] = []
        with _open(settings) as search_index:
            with (
                tqdm(total=dataset.corpus_size(), unit="doc", disable=not progress, file=sys.stderr) as bar,
                _library_errors(),
            ):
                index_dataset(search_index, dataset, on_progress=bar.update, on_skip=left_out.append)
            for note in left_out[:_NOTES_SHOWN]:
                _echo(f"skipped: {note}", err=True)
            if len(left_out) > _NOTES_SHOWN:
                _echo(f"skipped: {_plural(len(left_out) - _NOTES_SHOWN, 'more document')}", err=True)
            templates = [
                (mode, SearchRequest("", mode=mode, fusion=fusion, weight=weight, rrf_k=rrf_k))  # type: ignore[arg-type]
                for mode in wanted
            ]
            rows = []
            evaluated = evaluate_modes(
                search_index, dataset, templates, ignore_identical_ids=ignore_identical_ids
            )
            for result, run in evaluated:
                run_file = run_dir / f"{dataset_dir.name}-{split}-{result.mode}.trec"
                write_trec_run(run_file, run, f"semsearch-{result.mode}")
                if as_json:
                    _echo_json(
                        {
                            **to_dict(result),
                            "split": split,
                            "run_file": str(run_file),
                            "skipped_documents": len(left_out),
                        }
                    )
                rows.append(
                    [
                        result.mode,
                        f"{result.ndcg_at_10:.4f}",
                        f"{result.recall_at_100:.4f}",
                        f"{result.mrr_at_10:.4f}",
                        f"{result.queries_per_second:.1f}",
                        run_file,
                    ]
                )
    if not as_json:
        columns = ["mode", "nDCG@10", "Recall@100", "MRR@10", "queries/s", "run file"]
        skipped = f", {_plural(len(left_out), 'document')} left out" if left_out else ""
        _table(f"{dataset_dir.name}, {split} split ({len(dataset.queries)} queries{skipped})", columns, rows)


@app.command("compare")
def compare(
    dataset_dir: Annotated[Path, typer.Argument(help="BEIR dataset folder whose qrels judge the runs.")],
    run_a: Annotated[Path, typer.Argument(help="TREC run file of the baseline (from semsearch eval).")],
    run_b: Annotated[Path, typer.Argument(help="TREC run file of the change.")],
    split: Annotated[str, typer.Option(help="Which qrels/<split>.tsv to score.")] = "test",
    resamples: Annotated[int, typer.Option(min=100, help="Permutations of the significance test.")] = 10_000,
    as_json: JsonOption = False,
) -> None:
    """Whether run B is better than run A on evidence, not on a third decimal: nDCG@10 of each, the queries B
    wins, loses and ties, and the p-value of a paired permutation test.

    Example: semsearch eval DIR --modes dense,hybrid, then
    semsearch compare DIR runs/DIR-test-dense.trec runs/DIR-test-hybrid.trec"""
    from index.retrieval.evaluation import compare_runs, load_dataset, read_trec_run

    try:
        dataset = load_dataset(dataset_dir, split)
        result = compare_runs(dataset.qrels, read_trec_run(run_a), read_trec_run(run_b), resamples=resamples)
    except (SemsearchError, OSError) as error:
        _fail(str(error))
    if as_json:
        _echo_json({**to_dict(result), "run_a": str(run_a), "run_b": str(run_b), "split": split})
        return
    verdict = "yes" if result.p_value < 0.05 else "no"
    _table(
        f"{run_b.name} against {run_a.name}, {dataset_dir.name} {split} ({result.queries} queries)",
        ["nDCG@10 A", "nDCG@10 B", "B - A", "B wins", "B loses", "ties", "p", "p < 0.05"],
        [
            [
                f"{result.ndcg_at_10_a:.4f}",
                f"{result.ndcg_at_10_b:.4f}",
                f"{result.difference:+.4f}",
                result.wins,
                result.losses,
                result.ties,
                f"{result.p_value:.4f}",
                verdict,
            ]
        ],
    )


collections_app = typer.Typer(
    help="Collections: of a running service with --url, else of the data directory (the service stopped)."
)
alias_app = typer.Typer(
    help="Aliases of collections: of a running service with --url, else of the data directory (the service "
    "stopped)."
)
app.add_typer(collections_app, name="collections")
app.add_typer(alias_app, name="alias")


@contextmanager
def _catalog(data_dir: Path | None, write: bool) -> Iterator[Any]:
    """The data directory's catalog of collections; for a change, with the directory's writer lock, so that
    a running service (which keeps the catalog in memory) is never edited behind its back."""
    from index.collections import Catalog
    from index.storage.locking import WriterLock

    settings = _settings(data_dir=data_dir)
    with _library_errors():
        lock = WriterLock(settings.data_dir) if write else None
        try:
            yield Catalog(settings.data_dir, settings.default_collection)
        finally:
            if lock is not None:
                lock.release()


@collections_app.command("list")
def collections_list(
    ctx: typer.Context, url: UrlOption = None, data_dir: DataDir = None, as_json: JsonOption = False
) -> None:
    """Every collection and its own settings: with --url, how many documents and chunks it holds; from the
    data directory, its folder."""
    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, None, read_only=True) as client:
            rows = [c.model_dump(mode="json") for c in client.collections().collections]
        columns = ["name", "documents", "chunks"]
    else:
        with _catalog(data_dir, write=False) as catalog:
            rows = [
                {"name": name, "data_dir": str(catalog.path_of(name)), "settings": settings.to_json()}
                for name, settings in sorted(catalog.state.collections.items())
            ]
        columns = ["name", "data_dir"]
    if as_json:
        for row in rows:
            _echo_json(row)
        return
    table = [[*(row[c] for c in columns), json.dumps(row["settings"])] for row in rows]
    _table("Collections", [*(c.replace("_", " ") for c in columns), "settings"], table)


@collections_app.command("create")
def collections_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="[a-z0-9][a-z0-9_-]{0,63}")],
    settings_json: Annotated[
        str,
        typer.Option("--settings", help="Its own settings, as the API takes them: '{\"chunking\": {...}}'."),
    ] = "{}",
    url: UrlOption = None,
    data_dir: DataDir = None,
) -> None:
    """Record a new collection (it is created on disk when first used)."""
    from index.collections import check_name
    from service.runtime import collection_settings
    from service.schemas import CollectionIn

    url = _service_url(ctx, url, data_dir)
    try:
        body = CollectionIn.model_validate_json(settings_json)
    except ValidationError as error:
        _fail(f"--settings: {error}")
    if url is not None:
        with _remote(url, None) as client:
            existed = name in {c.name for c in client.collections().collections}
            client.create_collection(name, body.model_dump(mode="json", exclude_unset=True))
        _echo(f"{'exists with these settings' if existed else 'created'}: {name}")
        return
    settings = body.to_settings()
    with _catalog(data_dir, write=True) as catalog, _library_errors():
        check_name(name)
        collection_settings(_settings(data_dir=data_dir), settings)  # usable, or refused now
        created = catalog.create(name, settings)
    _echo(f"{'created' if created else 'exists with these settings'}: {name}")


@collections_app.command("delete")
def collections_delete(
    ctx: typer.Context,
    name: str,
    force: Annotated[bool, typer.Option("--force", help="Also delete the aliases that point to it.")] = False,
    url: UrlOption = None,
    data_dir: DataDir = None,
) -> None:
    """Delete a collection and its folder."""
    import shutil

    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, None) as client:
            aliases = client.delete_collection(name, force=force).aliases
    else:
        with _catalog(data_dir, write=True) as catalog, _library_errors():
            aliases = catalog.delete(name, force=force)
            shutil.rmtree(catalog.path_of(name), ignore_errors=True)
    _echo(f"deleted: {name}" + (f" (and aliases {', '.join(aliases)})" if aliases else ""))


@collections_app.command("reindex")
def collections_reindex(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The collection to fill.")],
    source: Annotated[str, typer.Option("--from", help="The collection (or alias) to read documents from.")],
    url: UrlOption = None,
    data_dir: DataDir = None,
    progress: ProgressOption = True,
) -> None:
    """Fill collection NAME from another one's stored documents, chunked and embedded with NAME's own
    settings (no source files needed). With --url, the running service does it, and the command follows it
    to the end."""
    from tqdm import tqdm

    from index.collections import reindex

    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, None) as client, tqdm(unit="doc", disable=not progress, file=sys.stderr) as bar:
            job = client.reindex(name, source=source)
            while job.status == "running":
                bar.total = job.documents_total
                bar.update(job.documents_done - bar.n)
                time.sleep(0.5)
                job = client.reindex_status(name)
        if job.status == "failed":
            _fail(f"the reindex of {name} from {source} failed: {job.error}", 1)
        _echo(f"reindexed {job.documents_done} documents into {name} from {source}")
        return
    base = _settings(data_dir=data_dir)
    target_settings, source_settings = _in_collection(base, name), _in_collection(base, source)
    if target_settings.data_dir == source_settings.data_dir:
        _fail("a collection is not reindexed from itself")
    with (
        _open(source_settings.model_copy(update={"read_only": True})) as origin,
        _open(target_settings) as target,
        tqdm(unit="doc", disable=not progress, file=sys.stderr) as bar,
        _library_errors(1),
    ):

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        written = reindex(origin, target, on_progress=advance)
    _echo(f"reindexed {written} documents into {name} from {source}")


@alias_app.command("set")
def alias_set(
    ctx: typer.Context, alias: str, collection: str, url: UrlOption = None, data_dir: DataDir = None
) -> None:
    """Point ALIAS at COLLECTION."""
    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, None) as client:
            previous = client.set_alias(alias, collection).previous
    else:
        with _catalog(data_dir, write=True) as catalog, _library_errors():
            previous = catalog.set_alias(alias, collection)
    _echo(f"{alias} -> {collection}" + (f" (was {previous})" if previous else ""))


@alias_app.command("list")
def alias_list(
    ctx: typer.Context, url: UrlOption = None, data_dir: DataDir = None, as_json: JsonOption = False
) -> None:
    """Every alias and its collection."""
    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, None, read_only=True) as client:
            aliases = {a.alias: a.collection for a in client.aliases().aliases}
    else:
        with _catalog(data_dir, write=False) as catalog:
            aliases = dict(catalog.state.aliases)
    if as_json:
        _echo_json(aliases)
        return
    _table("Aliases", ["alias", "collection"], [[a, c] for a, c in sorted(aliases.items())])


@alias_app.command("delete")
def alias_delete(ctx: typer.Context, alias: str, url: UrlOption = None, data_dir: DataDir = None) -> None:
    """Remove ALIAS (its collection stays)."""
    url = _service_url(ctx, url, data_dir)
    if url is not None:
        with _remote(url, None) as client:
            target = client.delete_alias(alias).collection
    else:
        with _catalog(data_dir, write=True) as catalog, _library_errors():
            target = catalog.delete_alias(alias)
    _echo(f"deleted: {alias} (pointed to {target})")


def main() -> None:
    app()
