from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from index import to_dict
from index.errors import ReadOnlyIndexError
from index.storage.snapshot import prune_snapshots, snapshot
from service.deps import IndexDep, SettingsDep
from service.schemas import ErrorOut, SnapshotOut
from service.security import AUTH_RESPONSES, require_write

router = APIRouter(tags=["operations"], dependencies=[Depends(require_write)], responses=AUTH_RESPONSES)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "This service is a read-only replica."}
}


@router.post("/admin/snapshot", responses=_RESPONSES)
async def create_snapshot(index: IndexDep, settings: SettingsDep) -> SnapshotOut:
    """Save a consistent copy of the index while the service goes on serving (writes too). The copy goes
    to a new folder in `SEMSEARCH_SNAPSHOT_DIR`, named by the time; the client does not choose the path.
    Put it back with `semsearch restore` (service stopped), or serve it read-only."""
    if index.read_only:
        raise ReadOnlyIndexError("a read-only replica takes no snapshots: take them on the writer")
    name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
    await run_in_threadpool(index.save)  # the freshest vector index goes into the copy
    info = await run_in_threadpool(snapshot, index.data_dir, settings.resolved_snapshot_dir() / name)
    await run_in_threadpool(prune_snapshots, settings.resolved_snapshot_dir(), settings.snapshot_keep)
    return SnapshotOut(name=name, **{**to_dict(info), "seconds": round(info.seconds, 3)})
