"""Optional API keys: a write key for every write, a read key for reads (searches, documents, stats).

A key is sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key configured means that kind of
access is open. The write key also grants reading. Missing credentials answer 401, wrong ones 403.
Comparison is constant-time, and keys are held as ``SecretStr`` so they never show in logs or reprs.
``/healthz`` and ``/readyz`` never need a key.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from service.deps import SettingsDep
from service.schemas import ErrorOut

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "A key is configured and none was sent."},
    403: {"model": ErrorOut, "description": "The key sent is not valid here."},
}

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")


def _presented(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> str | None:
    if bearer is not None:
        return bearer.credentials
    return header


Presented = Annotated[str | None, Depends(_presented)]


def _matches(presented: str, key: SecretStr | None) -> bool:
    return key is not None and hmac.compare_digest(presented.encode(), key.get_secret_value().encode())


def _check(presented: str | None, allowed: list[SecretStr | None], what: str) -> None:
    if presented is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"this server needs a {what} key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not any(_matches(presented, key) for key in allowed):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the key sent is not a valid {what} key")


def require_read(presented: Presented, settings: SettingsDep) -> None:
    if settings.read_key is not None:
        _check(presented, [settings.read_key, settings.write_key], "read")


def require_write(presented: Presented, settings: SettingsDep) -> None:
    if settings.write_key is not None:
        _check(presented, [settings.write_key], "write")
