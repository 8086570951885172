"""`/api/...` to HTTP-triggered functions, route templates, and function keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from devhost import DevHost, VirtualClock
from devhost.functions.routes import RouteTemplate
from tests.devhost.conftest import APP_DIR, app_settings


async def test_request_mapping(host: DevHost, http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/echo/one/two", params={"q": "x y"}, headers={"X-Test-Header": "hi"}, content=b"payload"
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["method"] == "POST"
    assert body["url"] == f"{host.base_url}/api/echo/one/two?q=x+y"
    assert body["params"] == {"q": "x y"}
    assert body["route"] == {"first": "one", "second": "two"}
    assert (body["header"], body["body"], body["function"]) == ("hi", "payload", "echo")
    assert body["thread"].startswith("devhost-function")  # sync functions run in a thread pool

    optional = (await http.get("/api/ECHO/only")).json()  # routes ignore case
    assert optional["route"] == {"first": "only"}


async def test_routes_methods_and_errors(host: DevHost, http: httpx.AsyncClient) -> None:
    item = await http.get("/api/items/42")
    assert (item.status_code, item.text, item.headers["X-Item"]) == (200, "item 42", "yes")
    assert item.headers["content-type"] == "text/plain; charset=utf-8"
    assert (await http.get("/api/items/forty-two")).status_code == 404  # {item_id:int}
    assert (await http.get("/api/start/chain")).status_code == 404  # POST only
    assert (await http.get("/api/no/such/route")).status_code == 404
    assert (await http.get("/xyz/echo/one")).status_code == 404  # outside the /api prefix
    assert (await http.get("/api/boom")).status_code == 500


async def test_keys_are_not_enforced_by_default(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/admin/ping")).status_code == 200


@pytest.fixture
async def keyed_host(tmp_path: Path) -> AsyncIterator[DevHost]:
    async with DevHost(
        APP_DIR,
        settings=app_settings(tmp_path),
        state_dir=tmp_path / "keyed",
        clock=VirtualClock(),
        enforce_keys=True,
        blob_poll_interval=None,
    ) as running:
        yield running


async def test_enforced_keys(keyed_host: DevHost) -> None:
    keys = keyed_host.keys
    async with httpx.AsyncClient(base_url=keyed_host.base_url) as http:
        assert (await http.post("/api/start/chain", json={"start": 1, "steps": 1})).status_code == 401
        started = await http.post(
            "/api/start/chain", json={"start": 1, "steps": 1}, params={"code": keys["function:start"]}
        )
        assert started.status_code == 202
        status_url = started.json()["statusQueryGetUri"]  # carries the system key, as in Azure
        assert (await http.get(status_url)).status_code in (200, 202)
        assert (await http.get(status_url.split("?")[0])).status_code == 401
        host_key = {"x-functions-key": keys["host:default"]}
        assert (await http.get("/api/instances/x", headers=host_key)).status_code == 404  # passed auth
        assert (await http.get("/api/admin/ping", params={"code": keys["host:default"]})).status_code == 401
        assert (await http.get("/api/admin/ping", params={"code": keys["master"]})).status_code == 200
        assert (await http.get("/api/echo/anonymous")).status_code == 200
        assert (await http.get("/")).status_code == 401
        assert (await http.get("/", params={"code": keys["master"]})).status_code == 200


def test_route_templates() -> None:
    template = RouteTemplate.parse("files/{container}/{*path}")
    assert template.match("/files/intake/a/b.pdf") == {"container": "intake", "path": "a/b.pdf"}
    assert template.match("/files/intake") == {"container": "intake"}
    assert RouteTemplate.parse("orders/{id:guid}").match("/orders/not-a-guid") is None
    flag = RouteTemplate.parse("flags/{on:bool}")
    assert flag.match("/flags/TRUE") == {"on": "TRUE"}
    assert RouteTemplate.parse("a/b").literal_segments == 2
