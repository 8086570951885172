"""The monitoring pages over HTTP: jobs first, nesting, filters, timeline, readable history, actions.

What a person sees in a real browser is checked in ``test_monitoring_browser.py``; here the pages'
HTML and the actions' effects, with devhost's own test app.
"""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from devhost import DevHost
from tests.devhost.conftest import eventually, start


def rows(page: str, css: str) -> list[str]:
    """The instance ids of the table rows with class ``css``, in page order."""
    return re.findall(rf"<tr class='{css}' data-instance='([^']*)'", page)


async def test_an_empty_hub_says_so(http: httpx.AsyncClient) -> None:
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "devhost: task hub devhosttests" in page.text
    assert "No orchestration instances yet." in page.text


async def test_jobs_come_first_with_their_sub_orchestrations_nested(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    first = await start(http, "parent", instance_id="job-1")
    await host.wait_for(first)
    second = await start(http, "chain", {"start": 1, "steps": 2}, instance_id="job-2")
    await host.wait_for(second)

    page = (await http.get("/")).text
    assert rows(page, "job") == ["job-2", "job-1"]  # newest first
    children = rows(page, "child")
    assert len(children) == 3
    assert "job-1-child" in children
    assert "<summary>3 sub-orchestrations</summary>" in page
    assert "<span class='status Completed'>Completed</span>" in page
    assert "<span class='status Failed'>Failed</span>" in page  # the third child failed
    # Filtering on the child orchestrator lists the children themselves, at the top level.
    children_only = (await http.get("/", params={"orchestrator": "child"})).text
    assert sorted(rows(children_only, "orphan")) == sorted(children)
    assert rows(children_only, "job") == []


async def test_filters_by_status_orchestrator_and_time(host: DevHost, http: httpx.AsyncClient) -> None:
    done = await start(http, "chain", {"start": 1, "steps": 1}, instance_id="done")
    await host.wait_for(done)
    await start(http, "approval", instance_id="waiting")
    failed = await start(http, "failing", instance_id="broken")
    await host.wait_for(failed)

    async def shown(**params: str | list[str]) -> set[str]:
        page = await http.get("/", params=params)
        assert page.status_code == 200, page.text
        return set(rows(page.text, "job"))

    assert await shown() == {"done", "waiting", "broken"}
    assert await shown(status="Running") == {"waiting"}
    assert await shown(status=["Completed", "Failed"]) == {"done", "broken"}
    assert await shown(orchestrator="approval") == {"waiting"}
    assert await shown(window="15m") == {"done", "waiting", "broken"}
    assert await shown(to="2000-01-01T00:00") == set()
    checked = (await http.get("/", params={"status": "Failed", "orchestrator": "failing"})).text
    assert "value='Failed' checked" in checked
    assert "<option value='failing' selected>" in checked
    assert "No instance matches these filters." in (await http.get("/", params={"orchestrator": "nope"})).text
    bad = await http.get("/", params={"status": "Sleeping"})
    assert bad.status_code == 400
    assert "Unknown status" in bad.text


async def test_progress_comes_from_the_custom_status(host: DevHost, http: httpx.AsyncClient) -> None:
    waiting = await start(http, "approval", instance_id="job-with-progress")
    # Once it waits for its event nothing else writes its row: give it a job's custom status (the
    # real app's, in a browser, is in tests/e2e/test_monitoring_page.py).
    await eventually(lambda: (host.status(waiting) or {}).get("runtimeStatus") == "Running")
    instance = host.engine.instance(waiting)
    assert instance is not None
    instance.custom_status = json.dumps({"stage": "analyzing", "total": 4, "done": 1, "failed": 1})
    host.engine._store.update_status(instance)  # as an orchestrator's set_custom_status would

    page = (await http.get("/")).text
    assert "analyzing · 1/4 done, 1 failed" in page
    assert "style='width:25.0%'" in page  # done, and failed, each a quarter of the bar
    detail = (await http.get(f"/instances/{waiting}")).text
    assert "<div id='progress'>" in detail


async def test_the_timeline_shows_parallel_activities_timers_and_sub_orchestrations(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    fan_out = await start(http, "orch", {"files": ["a", "b", "c"]}, instance_id="fan-out")
    await host.wait_for(fan_out)
    page = (await http.get(f"/instances/{fan_out}")).text
    bars = re.findall(r"<div class='gantt-row' data-kind='(\w[\w-]*)' data-outcome='(\w+)'>", page)
    assert bars == [("activity", "succeeded")] * 3 + [("timer", "succeeded")]
    assert "4 steps over" in page
    assert "at most 3 running at once" in page  # the fan-out ran in parallel
    assert "timer until" in page

    chain = await start(http, "chain", {"start": 1, "steps": 3}, instance_id="in-a-row")
    await host.wait_for(chain)
    assert "at most 1 running at once" in (await http.get(f"/instances/{chain}")).text

    parent = await start(http, "parent", instance_id="nesting")
    await host.wait_for(parent)
    nested = (await http.get(f"/instances/{parent}")).text
    kinds = re.findall(r"data-kind='([\w-]+)' data-outcome='(\w+)'", nested)
    assert kinds == [("sub-orchestration", "succeeded")] * 2 + [("sub-orchestration", "failed")]
    assert "<a href='/instances/nesting-child'>child</a>" in nested
    assert "<table id='children'>" in nested
    child = (await http.get("/instances/nesting-child")).text
    assert "sub-orchestration of <a id='parent' href='/instances/nesting'>" in child


async def test_history_payloads_are_readable_json(host: DevHost, http: httpx.AsyncClient) -> None:
    done = await start(http, "chain", {"start": 1, "steps": 1}, instance_id="readable")
    await host.wait_for(done)
    page = (await http.get(f"/instances/{done}")).text
    # The input {"start": 1, "steps": 1} is stored as JSON text of JSON text: shown decoded, indented.
    assert "<pre class='payload'>{\n  &quot;start&quot;: 1,\n  &quot;steps&quot;: 1\n}</pre>" in page
    assert "\\&quot;" not in page  # no escaped quotes of a JSON string left undecoded
    assert "<tr class='event' data-event='TaskCompleted'>" in page
    assert "<tr class='event' data-event='OrchestratorStarted'>" not in page


async def test_terminate_and_purge_buttons(host: DevHost, http: httpx.AsyncClient) -> None:
    waiting = await start(http, "approval", instance_id="to-stop")
    page = (await http.get(f"/instances/{waiting}")).text
    assert "<button id='terminate' type='submit'>Terminate</button>" in page
    assert "id='purge'" not in page
    refused = await http.post(f"/instances/{waiting}/purge")
    assert refused.status_code == 409
    assert "only finished instances are purged" in refused.text

    stopped = await http.post(f"/instances/{waiting}/terminate", follow_redirects=False)
    assert stopped.status_code == 303
    assert stopped.headers["Location"] == f"/instances/{waiting}"
    finished = await host.wait_for(waiting)
    assert finished["runtimeStatus"] == "Terminated"
    page = (await http.get(f"/instances/{waiting}")).text
    assert "<button id='purge' type='submit'>Purge history</button>" in page
    again = await http.post(f"/instances/{waiting}/terminate")
    assert again.status_code == 410

    purged = await http.post(f"/instances/{waiting}/purge", follow_redirects=False)
    assert purged.status_code == 303
    assert purged.headers["Location"] == "/"
    assert (await http.get(f"/instances/{waiting}")).status_code == 404
    assert host.status(waiting) is None


async def test_everything_is_escaped(host: DevHost, http: httpx.AsyncClient) -> None:
    waiting = await start(http, "approval", instance_id="<b>needs approval")
    page = (await http.get("/")).text
    assert "&lt;b&gt;needs approval</a>" in page
    assert "<b>needs" not in page
    assert (await http.get("/instances/%3Cb%3Eneeds%20approval")).status_code == 200
    assert waiting == "<b>needs approval"
    assert (await http.get("/instances/nobody")).status_code == 404


async def test_pages_refresh_only_while_something_runs(host: DevHost, http: httpx.AsyncClient) -> None:
    done = await start(http, "chain", {"start": 1, "steps": 1}, instance_id="quiet")
    await host.wait_for(done)
    assert "http-equiv='refresh'" not in (await http.get("/")).text
    await start(http, "approval", instance_id="busy")
    assert "http-equiv='refresh'" in (await http.get("/")).text
    assert "http-equiv='refresh'" not in (await http.get(f"/instances/{done}")).text


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
