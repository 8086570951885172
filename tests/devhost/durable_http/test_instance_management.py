"""Instance ids, existing-instance rules, status JSON and codes of the HTTP API and the RPC endpoint."""

from __future__ import annotations

import json
import re

import httpx

from devhost import DevHost
from tests.devhost.conftest import eventually, start

DURABLE = "/runtime/webhooks/durabletask"
STATUS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def finish_approval(http: httpx.AsyncClient, instance_id: str) -> None:
    for value in (1, 2):
        await http.post(f"/api/instances/{instance_id}/events/approval", json=value)


async def test_starting_a_running_id_fails_and_a_finished_one_is_replaced(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    await start(http, "approval", instance_id="singleton")
    await eventually(lambda: host.status("singleton")["runtimeStatus"] == "Running")  # type: ignore[index]
    again = await http.post("/api/start/approval/singleton")
    assert again.status_code == 409
    assert "An Orchestration instance with the status Running already exists." in again.json()["error"]

    await finish_approval(http, "singleton")
    first = await host.wait_for("singleton")
    first_execution = host.history("singleton")[1]["OrchestrationInstance"]["ExecutionId"]
    assert await start(http, "approval", instance_id="singleton") == "singleton"
    await eventually(lambda: len(host.history("singleton")) >= 3)
    history = host.history("singleton")
    assert history[1]["OrchestrationInstance"]["ExecutionId"] != first_execution
    assert host.status("singleton")["runtimeStatus"] == "Running"  # type: ignore[index]
    assert first["output"] == {"first": "1", "second": "2"}


async def test_the_http_api_answers_500_for_a_pending_or_running_id(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    first = await http.post(f"{DURABLE}/orchestrators/approval/dup", json={"a": 1})
    assert first.status_code == 202
    second = await http.post(f"{DURABLE}/orchestrators/approval/dup")
    assert second.status_code == 500
    assert second.json()["ExceptionMessage"] in (
        "An Orchestration instance with the status Pending already exists.",
        "An Orchestration instance with the status Running already exists.",
    )
    # JSON posted directly is kept as a JSON value (the SDK's client posts a JSON string instead).
    assert host.status("dup")["input"] == {"a": 1}  # type: ignore[index]


async def test_bad_ids_and_unknown_orchestrators_are_400(host: DevHost, http: httpx.AsyncClient) -> None:
    bad_id = await http.post(f"{DURABLE}/orchestrators/approval/@entity")
    assert bad_id.status_code == 400
    assert bad_id.json()["ExceptionMessage"] == "Instance ID '@entity' must not start with '@'."
    unknown = await http.post("/api/start/no_such_orchestrator")
    assert unknown.status_code == 409  # the test app reports the SDK's exception
    assert unknown.json()["error"].startswith(
        "The function 'no_such_orchestrator' doesn't exist, is disabled, or is not an orchestrator function. "
        "Additional info: The following are the known orchestrator functions: "
    )
    not_json = await http.post(f"{DURABLE}/orchestrators/approval", content=b"{not json")
    assert not_json.status_code == 400
    assert host.engine.instances() == []


async def test_status_codes_and_shape(host: DevHost, http: httpx.AsyncClient) -> None:
    running = await start(http, "approval", {"x": 1})
    response = await http.get(f"{DURABLE}/instances/{running}")
    assert response.status_code == 202
    assert response.headers["Location"].endswith(f"{DURABLE}/instances/{running}")
    body = response.json()
    assert set(body) == {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    }
    assert body["input"] == json.dumps({"x": 1})  # the JSON text the SDK's client sent, as a string
    assert STATUS_TIME.match(body["createdTime"])
    assert STATUS_TIME.match(body["lastUpdatedTime"])

    hidden = (await http.get(f"{DURABLE}/instances/{running}", params={"showInput": "false"})).json()
    assert hidden["input"] is None

    failed = await start(http, "failing")
    await host.wait_for(failed)
    assert (await http.get(f"{DURABLE}/instances/{failed}")).status_code == 200
    strict = await http.get(
        f"{DURABLE}/instances/{failed}", params={"returnInternalServerErrorOnFailure": "true"}
    )
    assert strict.status_code == 500

    unknown = await http.get(f"{DURABLE}/instances/nobody")
    assert (unknown.status_code, unknown.content) == (404, b"")


async def test_history_view(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "chain", {"start": 1, "steps": 2})
    await host.wait_for(instance_id)
    params = {"showHistory": "true", "showHistoryOutput": "true"}
    events = (await http.get(f"{DURABLE}/instances/{instance_id}", params=params)).json()["historyEvents"]
    assert [e["EventType"] for e in events] == [
        "ExecutionStarted",
        "TaskCompleted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert events[0]["FunctionName"] == "chain"
    assert (events[1]["FunctionName"], events[1]["Result"]) == ("add_one", 2)
    assert "ScheduledTime" in events[1]
    assert (events[3]["OrchestrationStatus"], events[3]["Result"]) == ("Completed", 3)
    without_output = (
        await http.get(f"{DURABLE}/instances/{instance_id}", params={"showHistory": "true"})
    ).json()
    assert "Result" not in without_output["historyEvents"][1]


async def test_the_rpc_endpoint_serves_the_same_api(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "chain", {"start": 0, "steps": 1})
    await host.wait_for(instance_id)
    async with httpx.AsyncClient(base_url=host.rpc_base_url) as rpc:
        status = await rpc.get(f"instances/{instance_id}")
        assert (status.status_code, status.json()["output"]) == (200, 1)
        assert (await rpc.get("instances/nobody")).status_code == 404
        listed = await rpc.get(
            "instances/", params={"runtimeStatus": "Completed", "instanceIdPrefix": instance_id[:6]}
        )
        assert [s["instanceId"] for s in listed.json()] == [instance_id]
        purge = await rpc.request("DELETE", "instances/", params={"createdTimeFrom": "2000-01-01T00:00:00Z"})
        assert purge.json() == {"instancesDeleted": 1}
        assert (await rpc.post("instances/x/rewind")).status_code == 501


async def test_listing_and_restart_through_the_client(host: DevHost, http: httpx.AsyncClient) -> None:
    done = await start(http, "chain", {"start": 5, "steps": 1}, instance_id="done-one")
    await host.wait_for(done)
    await start(http, "approval", instance_id="waiting-one")
    assert (await http.get("/api/instances")).json() == ["done-one", "waiting-one"]
    assert (await http.get("/api/instances", params={"status": "Completed"})).json() == ["done-one"]
    restarted = await http.post("/api/instances/done-one/restart")
    assert restarted.status_code == 200
    assert restarted.json()["restarted"]["id"] == "done-one"  # the host answers with management URLs
    assert (await host.wait_for("done-one"))["output"] == 6


async def test_page_through_instances_with_a_continuation_token(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    for number in range(3):
        await start(http, "approval", instance_id=f"page-{number}")
    first = await http.get(f"{DURABLE}/instances", params={"top": "2"})
    assert len(first.json()) == 2
    token = first.headers["x-ms-continuation-token"]
    second = await http.get(
        f"{DURABLE}/instances", params={"top": "2"}, headers={"x-ms-continuation-token": token}
    )
    assert len(second.json()) == 1
    assert "x-ms-continuation-token" not in second.headers
