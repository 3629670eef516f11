"""Collections and aliases: many indexes under one root, each with its own settings, and names that can be
switched from one collection to another atomically. :class:`Catalog` records them; :class:`CollectionSet`
holds their open indexes.

The root is a data directory. Its own index is the **default collection** (an existing data directory
becomes it as it is, with nothing re-embedded); every other collection is a data directory of its own under
``collections/<name>/``. ``collections.json`` in the root records each collection's settings and every alias;
it is rewritten atomically (:mod:`index.storage.files`), so a crash leaves the old catalog or the new one.

A name is 1 to 64 characters of ``[a-z0-9_-]``, starting with a letter or digit: safe in a URL path and as
a folder name on every filesystem. An alias is a name too, and never also a collection's.

:class:`Catalog` is thread-safe. :meth:`Catalog.resolve` reads one immutable snapshot of the catalog, so a
search that resolved a name before an alias switched finishes on the collection it started with, and the
next one sees the switch; nothing waits. It is process-safe too, so that several processes can serve one
root (the routers of a Ray Serve application, a read-only replica beside its writer): a change is made
under a file lock on the catalog as it is on disk, and a catalog whose file changed since it was read reads
it again (one ``stat`` per lookup).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import filelock

from index.errors import InvalidInputError, SemsearchError
from index.protocol import ServedIndex

if TYPE_CHECKING:
    from index.types import Document
from index.storage.files import atomic_write_text

log = logging.getLogger(__name__)

CATALOG_FILE = "collections.json"
CATALOG_LOCK = "collections.lock"
# How long a change waits for another process's change to the same catalog (each takes milliseconds).
CATALOG_LOCK_SECONDS = 10.0
COLLECTIONS_DIR = "collections"
CATALOG_FORMAT = 1
NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
_NAME = re.compile(NAME_PATTERN)


class CollectionNotFoundError(SemsearchError, KeyError):
    """No collection or alias has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no collection or alias named {self.name!r}"


class CollectionConflictError(SemsearchError):
    """The change conflicts with what exists: a collection with other settings, a name taken by the other
    kind (alias or collection), or a collection an alias still points to."""


def collection_dir(root: Path | str, name: str) -> Path:
    """Where a collection other than the default one keeps its files, under the root ``root``."""
    return Path(root) / COLLECTIONS_DIR / check_name(name)


def check_name(name: str, what: str = "a collection name") -> str:
    """``name`` if it is a valid collection or alias name; :class:`InvalidInputError` saying why if not."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidInputError(
            f"{what} is 1 to 64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit; "
            f"got {name!r}"
        )
    return name


@dataclass(frozen=True, slots=True)
class CollectionSettings:
    """What a collection is built with. ``None`` (or an empty section) means the service's default. Two
    settings are the same when their JSON forms are equal."""

    model: str | None = None
    embed_backend: str | None = None
    chunking: dict[str, Any] = field(default_factory=dict)
    index: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "embed_backend": self.embed_backend,
            "chunking": dict(sorted(self.chunking.items())),
            "index": dict(sorted(self.index.items())),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CollectionSettings:
        return cls(
            model=raw.get("model"),
            embed_backend=raw.get("embed_backend"),
            chunking=dict(raw.get("chunking") or {}),
            index=dict(raw.get("index") or {}),
        )


@dataclass(frozen=True, slots=True)
class CatalogState:
    """One immutable version of the catalog."""

    collections: MappingProxyType[str, CollectionSettings]
    aliases: MappingProxyType[str, str]
    # Reindexes begun and not finished: target collection -> source collection. A service resumes them on
    # start (a reindex skips what it already wrote), so a restart does not lose one.
    reindexing: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def resolve(self, name: str) -> str:
        """The collection ``name`` means: itself, or the one its alias points to."""
        if name in self.collections:
            return name
        if name in self.aliases:
            return self.aliases[name]
        raise CollectionNotFoundError(name)


class Catalog:
    """The collections and aliases of one root data directory, persisted in ``collections.json``."""

    def __init__(self, root: Path | str, default: str = "default") -> None:
        self.root = Path(root)
        self.default = check_name(default, "the default collection's name")
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None  # the catalog file's identity when it was read
        self._state = self._load()

    @property
    def state(self) -> CatalogState:
        """The catalog now: as this process last read or wrote it, read again if another process changed
        it since."""
        if self._identity() != self._seen:
            with self._lock:
                if self._identity() != self._seen:
                    self._state = self._load()
        return self._state

    def path_of(self, name: str) -> Path:
        """The data directory of the collection ``name`` (not an alias): the root for the default one."""
        check_name(name)
        return self.root if name == self.default else collection_dir(self.root, name)

    def resolve(self, name: str) -> str:
        """The collection a name (collection or alias) stands for, from one snapshot of the catalog."""
        return self.state.resolve(check_name(name))

    def create(self, name: str, settings: CollectionSettings) -> bool:
        """Record the collection ``name``; True if it is new, False if it exists with the same settings.
        :class:`CollectionConflictError` if it exists with others, or an alias has the name."""
        check_name(name)
        with self._changing() as state:
            if name in state.aliases:
                raise CollectionConflictError(f"{name!r} is an alias; delete it first or pick another name")
            existing = state.collections.get(name)
            if existing is not None:
                if existing.to_json() != settings.to_json():
                    raise CollectionConflictError(
                        f"the collection {name!r} exists with other settings: {existing.to_json()}"
                    )
                return False
            self._save({**state.collections, name: settings}, dict(state.aliases), dict(state.reindexing))
            return True

    def delete(self, name: str, *, force: bool = False) -> list[str]:
        """Forget the collection ``name`` (its files are the caller's to remove); the aliases that pointed
        to it, removed with it when ``force``. Refused while an alias points to it, unless ``force``; the
        default collection is never deleted."""
        check_name(name)
        with self._changing() as state:
            if name not in state.collections:
                raise CollectionNotFoundError(name)
            if name == self.default:
                raise CollectionConflictError(f"{name!r} is the default collection and cannot be deleted")
            pointing = sorted(alias for alias, target in state.aliases.items() if target == name)
            if pointing and not force:
                raise CollectionConflictError(
                    f"aliases point to {name!r}: {', '.join(pointing)}; move or delete them, or force"
                )
            collections = {k: v for k, v in state.collections.items() if k != name}
            aliases = {k: v for k, v in state.aliases.items() if v != name}
            reindexing = {k: v for k, v in state.reindexing.items() if name not in (k, v)}
            self._save(collections, aliases, reindexing)
            return pointing

    def set_alias(self, alias: str, collection: str) -> str | None:
        """Point ``alias`` at ``collection``, atomically; the collection it pointed to before, if any."""
        check_name(alias, "an alias")
        check_name(collection)
        with self._changing() as state:
            if alias in state.collections:
                raise CollectionConflictError(f"{alias!r} is a collection; an alias needs a name of its own")
            if collection in state.aliases:  # one level only: moving an alias never moves another
                raise CollectionConflictError(
                    f"{collection!r} is an alias (of {state.aliases[collection]!r}); point {alias!r} at a "
                    "collection"
                )
            if collection not in state.collections:
                raise CollectionNotFoundError(collection)
            previous = state.aliases.get(alias)
            self._save(dict(state.collections), {**state.aliases, alias: collection}, dict(state.reindexing))
            return previous

    def delete_alias(self, alias: str) -> str:
        """Remove ``alias``; the collection it pointed to."""
        check_name(alias, "an alias")
        with self._changing() as state:
            if alias not in state.aliases:
                raise CollectionNotFoundError(alias)
            target = state.aliases[alias]
            aliases = {k: v for k, v in state.aliases.items() if k != alias}
            self._save(dict(state.collections), aliases, dict(state.reindexing))
            return target

    def begin_reindex(self, target: str, source: str) -> None:
        """Record that ``target`` is being filled from ``source`` (both collections, not aliases), durably,
        until :meth:`end_reindex`."""
        with self._changing() as state:
            for name in (target, source):
                if name not in state.collections:
                    raise CollectionNotFoundError(name)
            reindexing = {**state.reindexing, target: source}
            self._save(dict(state.collections), dict(state.aliases), reindexing)

    def end_reindex(self, target: str) -> None:
        """Forget the reindex of ``target`` (it finished)."""
        with self._changing() as state:
            if target in state.reindexing:
                reindexing = {k: v for k, v in state.reindexing.items() if k != target}
                self._save(dict(state.collections), dict(state.aliases), reindexing)

    # -- persistence ------------------------------------------------------------------------------

    @contextmanager
    def _changing(self) -> Iterator[CatalogState]:
        """The catalog as it is on disk, held against changes by this process and every other one."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = filelock.FileLock(self.root / CATALOG_LOCK, timeout=CATALOG_LOCK_SECONDS)
            try:
                lock.acquire()
            except filelock.Timeout as error:
                raise CollectionConflictError(
                    "another process is changing the collections; try again"
                ) from error
            try:
                if self._identity() != self._seen:
                    self._state = self._load()
                yield self._state
            finally:
                lock.release()

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            status = os.stat(self.root / CATALOG_FILE)
        except FileNotFoundError:
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def _load(self) -> CatalogState:
        path = self.root / CATALOG_FILE
        self._seen = self._identity()
        collections: dict[str, CollectionSettings] = {self.default: CollectionSettings()}
        aliases: dict[str, str] = {}
        reindexing: dict[str, str] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            for name, settings in raw.get("collections", {}).items():
                collections[check_name(name)] = CollectionSettings.from_json(settings)
            for alias, target in raw.get("aliases", {}).items():
                if target in collections:
                    aliases[check_name(alias, "an alias")] = target
            for target, source in raw.get("reindexing", {}).items():
                if target in collections and source in collections:
                    reindexing[target] = source
        return _freeze(collections, aliases, reindexing)

    def _save(
        self, collections: dict[str, CollectionSettings], aliases: dict[str, str], reindexing: dict[str, str]
    ) -> None:
        """Write the catalog (durably), then publish it: a failed write changes nothing."""
        body = {
            "format": CATALOG_FORMAT,
            "collections": {name: s.to_json() for name, s in sorted(collections.items())},
            "aliases": dict(sorted(aliases.items())),
            "reindexing": dict(sorted(reindexing.items())),
        }
        atomic_write_text(self.root / CATALOG_FILE, json.dumps(body, indent=2) + "\n")
        self._state = _freeze(collections, aliases, reindexing)
        self._seen = self._identity()


def _freeze(
    collections: dict[str, CollectionSettings], aliases: dict[str, str], reindexing: dict[str, str]
) -> CatalogState:
    return CatalogState(
        MappingProxyType(dict(collections)),
        MappingProxyType(dict(aliases)),
        MappingProxyType(dict(reindexing)),
    )


Opener = Callable[[str, Path, CollectionSettings], ServedIndex]
# Removes a deleted collection's files, given its name and data directory.
Remover = Callable[[str, Path], None]
# How long a deleted collection's index stays open for the searches that started before the delete.
RETIRE_SECONDS = 30.0


def remove_files(_: str, data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)


class CollectionSet:
    """The open indexes of a catalog's collections: the default one given, the others opened on first use
    by ``opener(name, data_dir, settings)`` and kept open until deleted or closed; ``remover`` removes a
    deleted one's files (where they are: a sharded collection's are on its shards' machines)."""

    def __init__(
        self, catalog: Catalog, default: ServedIndex, opener: Opener, remover: Remover = remove_files
    ) -> None:
        self.catalog = catalog
        self._default = default
        self._opener = opener
        self._remover = remover
        # Each open collection's settings, index, and the identity of its database file when opened.
        self._open: dict[str, tuple[CollectionSettings, ServedIndex, _FileIdentity]] = {}
        self._retired: list[ServedIndex] = []
        self._lock = threading.Lock()

    def index(self, name: str) -> ServedIndex:
        """The index a collection or alias name stands for (opened now if it is not yet)."""
        state = self.catalog.state  # one snapshot (one stat of the catalog file) for the whole lookup
        return self._index_of(state.resolve(check_name(name)), state)

    def _index_of(self, collection: str, state: CatalogState) -> ServedIndex:
        if collection == self.catalog.default:
            return self._default
        settings = state.collections.get(collection)
        if settings is None:
            raise CollectionNotFoundError(collection)
        opened = self._open.get(collection)
        # The catalog as this index was opened with (the same object): nothing changed since.
        if opened is not None and opened[0] is settings:
            return opened[1]
        with self._lock:
            opened = self._open.get(collection)
            path = self.catalog.path_of(collection)
            # Read again after another process changed the catalog: the same collection if its settings
            # and its database file are the same. Another process may have deleted it and made a new one
            # of that name, with the same settings; the file then differs (the old one is still open here,
            # so its inode cannot have been given to the new one).
            if opened is not None and opened[0] == settings and opened[2] == _identity(path):
                self._open[collection] = (settings, opened[1], opened[2])  # remember this copy
                return opened[1]
            if opened is not None:
                self._retire(opened[1])
            index = self._opener(collection, path, settings)
            self._open[collection] = (settings, index, _identity(path))
            return index

    @property
    def read_only(self) -> bool:
        """Whether this service only reads (a replica): it then changes no collection or alias."""
        return self._default.read_only

    def opened(self) -> dict[str, ServedIndex]:
        """The collections open now, by name, the default one included."""
        with self._lock:
            return {self.catalog.default: self._default, **{n: i for n, (_, i, _) in self._open.items()}}

    def create(self, name: str, settings: CollectionSettings) -> bool:
        """Create (and open) the collection; True if it is new, False if it existed with these settings.
        If it cannot be opened (a model that does not load, say), it is not recorded."""
        created = self.catalog.create(name, settings)
        if created:
            try:
                self._index_of(name, self.catalog.state)
            except BaseException:
                self.catalog.delete(name, force=True)
                self._remover(name, self.catalog.path_of(name))
                raise
        return created

    def delete(self, name: str, *, force: bool = False) -> list[str]:
        """Delete the collection and its files; the aliases removed with it (``force``)."""
        aliases = self.catalog.delete(name, force=force)
        with self._lock:
            opened = self._open.pop(name, None)
            if opened is not None:
                self._retire(opened[1])
        self._remover(name, self.catalog.path_of(name))
        return aliases

    def _retire(self, index: ServedIndex) -> None:
        """Close ``index`` soon, not now: searches that resolved its name before it went may still be
        reading (the index closes once they are done: no search outlives RETIRE_SECONDS), or when the set
        closes. Its files may go now; the open ones stay readable until closed."""
        self._retired.append(index)
        timer = threading.Timer(RETIRE_SECONDS, self._close_retired, args=(index,))
        timer.daemon = True
        timer.start()

    def _close_retired(self, index: ServedIndex) -> None:
        with self._lock:
            if index not in self._retired:
                return
            self._retired.remove(index)
        _close_deleted(index)

    def close(self) -> None:
        """Close every collection opened here (not the default one, which its owner closes)."""
        with self._lock:
            opened, self._open = [index for _, index, _ in self._open.values()], {}
            retired, self._retired = self._retired, []
        for index in opened:
            index.close()
        for index in retired:
            _close_deleted(index)


_FileIdentity = tuple[int, int] | None


def _identity(data_dir: Path) -> _FileIdentity:
    """The device and inode of a collection's database file; None where it is not on this machine (the
    shards of a sharded collection are elsewhere)."""
    from index.storage.layout import DB_FILE  # here: the client imports this module, and layout numpy

    try:
        stat = (data_dir / DB_FILE).stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _close_deleted(index: ServedIndex) -> None:
    """Close the index of a deleted collection: its database and lock are released; saving its vector index
    fails, as its folder is gone, and is not needed."""
    try:
        index.close()
    except OSError as error:
        log.debug("closed a deleted collection's index without saving it: %s", error)


def reindex(
    source: ServedIndex,
    target: ServedIndex,
    *,
    batch_size: int = 64,
    on_progress: Callable[[int, int], object] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Index every document of ``source`` again into ``target``, chunked and embedded with the target's own
    settings (its model, its chunking): a collection rebuilt without the source files. Documents are read
    from one snapshot of the source and written in batches of ``batch_size``, one transaction each;
    ``on_progress(done, total)`` after each. Running it again is cheap: documents already in the target
    unchanged are not embedded again. Returns how many documents were written."""
    total = source.stats().documents
    done = 0
    if on_progress is not None:
        on_progress(done, total)

    def until_stopped() -> Iterator[list[Document]]:
        for batch in source.export_documents(batch_size):
            if should_stop is not None and should_stop():
                return
            yield batch

    for results in target.upsert_stream(until_stopped()):
        done += len(results)
        if on_progress is not None:
            on_progress(done, max(total, done))
    return done
