"""Azure Storage exceptions, translated into the app's transient/permanent tree.

The SDK's exceptions carry the whole response (and sometimes request URLs), so they never travel
further than this module: the translated error says what failed, the HTTP status and the storage
error code, nothing else, and does not chain the original (a chained exception's text would end up
in the activity's failure details, that is, in orchestration history).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from core.errors import AppError, PermanentError, TransientError

# 409 included: storage conflicts (a pending copy, a lease, a container being deleted) pass; callers
# that expect a 409 as an answer (creating what exists) handle ResourceExistsError themselves.
_TRANSIENT_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class StorageAccessDenied(PermanentError):
    """The app's identity may not do this (a missing role assignment, a wrong key)."""

    code = "StorageAccessDenied"


def translate(error: AzureError, action: str) -> AppError:
    """The app error for ``error``, raised while ``action`` (e.g. "Reading blob inputs/a.pdf")."""
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return TransientError(
            f"{action} failed: storage did not answer ({type(error).__name__})", code="StorageUnavailable"
        )
    status = getattr(error, "status_code", None)
    detail = _detail(error, status)
    if isinstance(error, ClientAuthenticationError) or status in (401, 403):
        return StorageAccessDenied(f"{action} was refused by storage ({detail})")
    if isinstance(error, ResourceNotFoundError) or status == 404:
        return PermanentError(f"{action} failed: not found ({detail})", code="NotFound")
    if isinstance(error, ResourceModifiedError) or status == 412:
        # A conditional request found the blob changed: reading it afresh can succeed.
        return TransientError(f"{action} failed: the blob changed meanwhile ({detail})", code="BlobChanged")
    if isinstance(error, HttpResponseError) and (status in _TRANSIENT_STATUSES or status is None):
        return TransientError(f"{action} failed ({detail})", code="StorageUnavailable")
    return PermanentError(f"{action} failed ({detail})", code="StorageRequestFailed")


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Raise the app's errors, not the SDK's, for storage calls inside this block."""
    try:
        yield
    except AzureError as error:
        raise translate(error, action) from None


def _detail(error: AzureError, status: int | None) -> str:
    code = getattr(error, "error_code", None)
    parts = [f"HTTP {status}" if status is not None else type(error).__name__]
    if code:
        parts.append(str(code))
    return ", ".join(parts)
