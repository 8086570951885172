"""The storage client honours proxy variables and netrc only when they are there.

aiohttp's ``trust_env`` looks both up on every request (two worker-thread hops each), so the
process-wide client turns it on only when the environment configures one
(``storage.client.environment_configures_http``). A set ``HTTP_PROXY`` must still carry every blob
call: a real forward proxy on loopback, in front of the session's Azurite, records what it carried.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from storage.client import close_blob_service_client, environment_configures_http, get_blob_service_client
from tests.support.azurite import Azurite

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy", "no_proxy")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No proxy variable, no NETRC, and a home directory without a netrc file."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


def test_nothing_configured_turns_the_lookups_off(clean_environment: pytest.MonkeyPatch) -> None:
    assert environment_configures_http() is False


def test_no_proxy_alone_configures_nothing(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("NO_PROXY", "127.0.0.1")
    assert environment_configures_http() is False


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_variable_turns_them_on(clean_environment: pytest.MonkeyPatch, name: str) -> None:
    clean_environment.setenv(name, "http://127.0.0.1:9")
    assert environment_configures_http() is True


def test_a_netrc_file_turns_them_on(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".netrc").write_text("machine example.invalid login a password b\n", encoding="utf-8")
    assert environment_configures_http() is True


def test_a_netrc_variable_turns_them_on(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment.setenv("NETRC", str(tmp_path / "elsewhere"))
    assert environment_configures_http() is True


@contextlib.asynccontextmanager
async def forward_proxy(upstream: str) -> AsyncIterator[tuple[str, list[str]]]:
    """A plain-HTTP forward proxy on loopback sending every request on to ``upstream``; yields its
    URL and the paths it carried."""
    carried: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        carried.append(request.path)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "proxy-connection")}
        body = await request.read()
        async with (
            aiohttp.ClientSession(auto_decompress=False) as session,
            session.request(
                request.method,
                upstream + request.path_qs,
                headers=headers,
                data=body or None,
                skip_auto_headers=("Content-Type", "Accept", "Accept-Encoding", "User-Agent"),
            ) as answer,
        ):
            drop = ("transfer-encoding", "connection", "content-length")
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in drop}
            return web.Response(status=answer.status, headers=kept, body=await answer.read())

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", carried
    finally:
        await runner.cleanup()


@pytest.mark.integration
async def test_a_set_proxy_carries_the_blob_calls(
    azurite: Azurite, clean_environment: pytest.MonkeyPatch
) -> None:
    upstream = f"http://127.0.0.1:{azurite.blob_port}"
    async with forward_proxy(upstream) as (proxy_url, carried):
        clean_environment.setenv("HTTP_PROXY", proxy_url)
        await close_blob_service_client()
        try:
            container = get_blob_service_client().get_container_client("proxy-check")
            await container.create_container()
            await container.delete_container()
        finally:
            await close_blob_service_client()
    assert carried == ["/devstoreaccount1/proxy-check"] * 2  # create, then delete
