"""An HTTP-triggered function must answer within 230 s (the Azure load balancer's idle timeout).

Azure Functions docs, "Function app timeout duration": "Regardless of the function app timeout
setting, 230 seconds is the maximum amount of time that an HTTP triggered function can take to
respond to a request." devhost shortens it only when a test asks (never lengthens it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost import DevHost
from tests.devhost.conftest import APP_DIR


async def test_a_late_answer_becomes_a_gateway_timeout_while_the_function_runs_on(
    devhost_with: Callable[..., Any],
) -> None:
    async with devhost_with(http_response_timeout=0.3) as (host, http):
        response = await http.get("/api/slow/1")
        quick = await http.get("/api/slow/0")
        await asyncio.sleep(1.2)

        assert (response.status_code, response.content) == (504, b"")
        assert quick.text == "finally"
        assert host.app_module.CALLS["slow_http:done"] == 2  # the slow one finished after its client left


def test_the_limit_cannot_be_lengthened(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="230"):
        DevHost(APP_DIR, state_dir=tmp_path, http_response_timeout=231)
