"""The status page at `/` and each instance's history page."""

from __future__ import annotations

import logging

import httpx
import pytest

from devhost import DevHost
from tests.devhost.conftest import start


async def test_status_page_lists_instances_and_links_their_history(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    empty = await http.get("/")
    assert "No orchestration instances yet." in empty.text
    done = await start(http, "custom_status", "small")
    await host.wait_for(done)
    waiting = await start(http, "approval", instance_id="<b>needs approval")

    page = await http.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert "devhost: task hub devhosttests" in page.text
    assert f"<a href='instances/{done}'>{done}</a>" in page.text
    assert "<td class='Completed'>Completed</td>" in page.text
    assert "{&quot;stage&quot;: &quot;one&quot;}" in page.text  # custom status, escaped
    assert "&lt;b&gt;needs approval</a>" in page.text
    assert "<b>needs" not in page.text

    history = await http.get(f"/instances/{done}")
    assert history.status_code == 200
    assert "<td>ExecutionStarted</td>" in history.text
    assert "<td>ExecutionCompleted</td>" in history.text
    assert (await http.get("/instances/%3Cb%3Eneeds%20approval")).status_code == 200
    assert waiting == "<b>needs approval"
    assert (await http.get("/instances/nobody")).status_code == 404


async def test_instance_lifecycle_is_logged_like_the_portal(
    host: DevHost, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="devhost"):
        done = await start(http, "chain", {"start": 1, "steps": 1}, instance_id="logged-ok")
        failed = await start(http, "failing", instance_id="logged-failed")
        await host.wait_for(done)
        await host.wait_for(failed)
    lines = [record.getMessage() for record in caplog.records]
    who = "logged-ok: Function 'chain (Orchestrator)'"
    assert f"{who} started. IsReplay: False. Input: (30 bytes). State: Started." in lines
    assert any(line.startswith(f"{who} completed. ContinuedAsNew: False.") for line in lines)
    assert (
        "logged-failed: Function 'failing (Orchestrator)' failed with an error. Reason: Orchestrator "
        "function 'failing' failed: the orchestrator broke. IsReplay: False. State: Failed."
    ) in lines
    assert not any('"start": 1' in line for line in lines)  # sizes, never payloads
