"""The result envelope every activity returns, and the one place that applies the error policy.

A transient failure (``TransientError`` or anything unexpected) raises, so the host retries it
through ``call_activity_with_retry``; a ``PermanentError`` is returned as
``{"ok": false, "error": {...}}``, because Python's ``RetryOptions`` cannot tell the two apart and
would retry a hopeless call. Success is ``{"ok": true, ...result}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from core.errors import PermanentError, error_info

Envelope = dict[str, Any]


async def envelope(work: Awaitable[Mapping[str, Any]]) -> Envelope:
    """Run ``work``: permanent failures become an error envelope, transient ones propagate."""
    try:
        result = await work
    except PermanentError as error:
        return {"ok": False, "error": error_info(error)}
    return {"ok": True, **result}
