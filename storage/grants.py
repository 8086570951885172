"""SAS grants kept out of orchestration history: the claim-check pattern.

An orchestration's inputs, outputs and activity results are persisted in its history, and Durable
Functions' guidance is never to put a SAS there. So a grant is made in two halves:

- the signed URL goes into a *grant blob* (``core.layout.grant_blob``), in a private container
  only the app can read;
- the caller (an activity, so the orchestrator) gets back only ``{"grant": <grant blob name>,
  "expiresAt": <ISO 8601>}``.

The activity that calls Content Understanding turns the name back into the URL with
``resolve_grant`` at the last moment, inside its own process. Grants are least privilege: read-only
on one blob of the job's own inputs (an input, or an agentic job's package), short-lived
(``SAS_TTL_MINUTES``, which must cover the analysis deadline). Re-granting the same scope
overwrites the same grant blob with a fresh expiry.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TypedDict

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings

from core import layout
from core.errors import InputError, PermanentError
from core.layout import Role
from core.settings import get_settings
from storage.client import container_client, ensure_containers, get_blob_service_client
from storage.errors import translated
from storage.sas import get_signer, utc_now

logger = logging.getLogger(__name__)

GRANT_CONTENT_TYPE = "application/json"
# A grant resolved with ``renew`` is signed again if it ends sooner than this: CU reads an input
# when the analysis starts.
RENEW_MARGIN = timedelta(minutes=10)


class Grant(TypedDict):
    """What a grant's creator gets back: a name to resolve later, and when the grant ends."""

    grant: str
    expiresAt: str


class GrantNotFound(PermanentError):
    code = "GrantNotFound"


class GrantExpired(PermanentError):
    code = "GrantExpired"


async def create_input_grant(
    job_id: str, blob_name: str, *, ttl: timedelta | None = None, must_exist: bool = True
) -> Grant:
    """Read-only access to ``blob_name``, one of job ``job_id``'s inputs (``{jobId}/...``).

    With ``must_exist`` False the grant is signed for a blob still being written (a SAS names a
    blob, not its content, and may be signed before it exists), so that ingest and grant run side
    by side; the scope is still the job's own inputs folder only.
    """
    if not layout.belongs_to_job(job_id, blob_name):
        raise InputError(
            f"Blob {blob_name!r} is not an input of job {job_id!r}",
            code="GrantNotAllowed",
            input_name=blob_name,
        )
    container = get_settings().storage.container(Role.INPUTS)
    return await _grant_blob(job_id, container, blob_name, ttl, must_exist=must_exist)


async def resolve_grant(grant_name: str, *, renew: bool = False) -> str:
    """The signed URL behind a grant. Only for the activity that hands it to Content Understanding.

    An expired grant raises ``GrantExpired``; with ``renew``, a grant that has expired or ends
    within ``RENEW_MARGIN`` is signed again for the same scope with a fresh lifetime instead. A job
    can wait longer than ``SAS_TTL_MINUTES`` between granting and analysing (its host was down, or
    storage was); least privilege stays, since the scope comes from the grant itself.
    """
    record = await _read_grant(grant_name)
    expires_at = datetime.fromisoformat(record["expiresAt"])
    if expires_at <= utc_now() + (RENEW_MARGIN if renew else timedelta(0)):
        if not renew:
            raise GrantExpired(f"Grant {grant_name} expired at {record['expiresAt']}; create a new one")
        return await _renew(grant_name, record)
    url: str = record["url"]
    return url


async def _read_grant(grant_name: str) -> dict[str, str]:
    if not layout.is_grant_name(grant_name):
        raise GrantNotFound(f"{grant_name!r} is not a grant name")
    grants = container_client(Role.GRANTS)
    with translated(f"Reading grant {grant_name}"):
        try:
            stream = await grants.download_blob(grant_name)
        except ResourceNotFoundError:
            raise GrantNotFound(f"Grant {grant_name} does not exist (the job may have ended)") from None
        record: dict[str, str] = json.loads(await stream.readall())
    return record


async def _renew(grant_name: str, record: dict[str, str]) -> str:
    """Sign the grant's scope again with a fresh lifetime, under the same grant name."""
    job_id = grant_name.split("/", 1)[0]
    scope = {key: value for key, value in record.items() if key not in ("url", "expiresAt")}
    if layout.grant_blob(job_id, scope).name != grant_name:
        raise GrantNotFound(f"Grant {grant_name} does not match its own scope; it is not renewed")
    expires_at = _expiry(None)
    if scope.get("kind") != "blob":
        raise GrantNotFound(f"Grant {grant_name} is of a kind this app no longer grants; it is not renewed")
    url = await get_signer().sign_blob(scope["container"], scope["blob"], expires_at)
    await _store(job_id, scope, url, expires_at)
    logger.warning("Grant %s had expired (or nearly) at %s: renewed", grant_name, record["expiresAt"])
    return url


async def _grant_blob(
    job_id: str, container: str, blob_name: str, ttl: timedelta | None, *, must_exist: bool = True
) -> Grant:
    await ensure_containers()
    if must_exist:
        await _check_exists(container, blob_name)
    expires_at = _expiry(ttl)
    url = await get_signer().sign_blob(container, blob_name, expires_at)
    scope = {"kind": "blob", "container": container, "blob": blob_name, "permissions": "r"}
    return await _store(job_id, scope, url, expires_at)


async def _check_exists(container: str, blob_name: str) -> None:
    blob = get_blob_service_client().get_blob_client(container, blob_name)
    with translated(f"Checking blob {container}/{blob_name}"):
        try:
            await blob.get_blob_properties()
        except ResourceNotFoundError:
            raise InputError(
                f"Blob {container}/{blob_name} does not exist, so it cannot be granted",
                code="BlobNotFound",
                input_name=blob_name,
            ) from None


async def _store(job_id: str, scope: dict[str, str], url: str, expires_at: datetime) -> Grant:
    name = layout.grant_blob(job_id, scope).name
    record = {**scope, "url": url, "expiresAt": expires_at.isoformat()}
    grants = container_client(Role.GRANTS)
    with translated(f"Writing grant {name}"):
        await grants.upload_blob(
            name,
            json.dumps(record).encode(),
            overwrite=True,
            content_settings=ContentSettings(content_type=GRANT_CONTENT_TYPE),
        )
    logger.info(
        "Granted %s on %s/%s until %s as %s",
        scope["permissions"],
        scope["container"],
        scope["blob"],
        expires_at,
        name,
    )
    return Grant(grant=name, expiresAt=expires_at.isoformat())


def _expiry(ttl: timedelta | None) -> datetime:
    lifetime = ttl if ttl is not None else timedelta(minutes=get_settings().sas_ttl_minutes)
    return utc_now().replace(microsecond=0) + lifetime
