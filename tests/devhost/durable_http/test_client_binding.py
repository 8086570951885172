"""The durable client binding: the SDK's client in an HTTP function reaches devhost's endpoints."""

from __future__ import annotations

import httpx

from devhost import DevHost
from tests.devhost.conftest import start


async def test_check_status_response_points_at_devhost(host: DevHost, http: httpx.AsyncClient) -> None:
    response = await http.post("/api/start/chain", json={"start": 1, "steps": 1})
    assert response.status_code == 202
    payload = response.json()
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert response.headers["Retry-After"] == "10"
    assert payload["statusQueryGetUri"].startswith(f"{host.base_url}/runtime/webhooks/durabletask/instances/")
    assert "taskHub=devhosttests&connection=Storage&code=" in payload["statusQueryGetUri"]
    await host.wait_for(payload["id"])
    status = await http.get(payload["statusQueryGetUri"])
    assert (status.status_code, status.json()["output"]) == (200, 2)
    terminate = await http.post(payload["terminatePostUri"].replace("{text}", "late"))
    assert terminate.status_code == 410


async def test_the_sdk_client_reaches_the_rpc_endpoint(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "chain", {"start": 1, "steps": 1})
    assert host.rpc_base_url.endswith("/durabletask/")
    assert host.rpc_base_url != f"{host.base_url}/durabletask/"  # a listener of its own, like port 17071
    assert (await host.wait_for(instance_id))["runtimeStatus"] == "Completed"
