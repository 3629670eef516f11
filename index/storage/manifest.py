"""The manifest: what a data directory was built with, so that it is never opened with the wrong model.

It is kept twice: ``manifest.json`` for people and other tools, and a copy inside the database, which is the
one that counts when the two disagree (the database is the system of record).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import CorruptIndexError, IncompatibleIndexError
from index.storage.files import atomic_write_text

FORMAT_VERSION = 2
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True, slots=True)
class Manifest:
    model_id: str
    dimension: int
    index_type: str
    chunking: dict[str, int]
    format_version: int = FORMAT_VERSION
    created_at: str = dataclasses.field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            raw: dict[str, Any] = json.loads(text)
            return cls(
                model_id=str(raw["model_id"]),
                dimension=int(raw["dimension"]),
                index_type=str(raw["index_type"]),
                chunking={str(k): int(v) for k, v in raw["chunking"].items()},
                format_version=int(raw["format_version"]),
                created_at=str(raw["created_at"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CorruptIndexError(f"the manifest is unreadable: {error}") from error

    def check_compatible(self, model_id: str, dimension: int | None, data_dir: Path) -> None:
        """Raise :class:`IncompatibleIndexError` unless this data directory can be used with that model."""
        if self.format_version != FORMAT_VERSION:
            raise IncompatibleIndexError(
                f"the data directory {data_dir} has format version {self.format_version}; this semsearch "
                f"reads version {FORMAT_VERSION}. Re-index into a new data directory."
            )
        if self.model_id != model_id or dimension not in (None, self.dimension):
            configured = model_id if dimension is None else f"{model_id!r} (dimension {dimension})"
            raise IncompatibleIndexError(
                f"the data directory {data_dir} was built with the model {self.model_id!r} "
                f"(dimension {self.dimension}), but the configured model is {configured}. Configure the "
                f"model {self.model_id!r} (SEMSEARCH_MODEL), or use another data directory "
                "(SEMSEARCH_DATA_DIR) to index with the new model."
            )


def write_manifest_file(data_dir: Path, manifest: Manifest) -> None:
    atomic_write_text(data_dir / MANIFEST_FILE, manifest.to_json())
