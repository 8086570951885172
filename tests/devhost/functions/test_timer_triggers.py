"""Timer triggers on devhost: NCRONTAB schedules against the host's (virtual) clock, as the host runs them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devhost import DevHost, VirtualClock
from devhost.errors import AppLoadError
from devhost.functions.ncrontab import Schedule, ScheduleError
from tests.devhost.conftest import APP_DIR, app_settings

START = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
TIMER = "every_five_minutes"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 */5 * * * *", "2026-01-01T00:00:01", "2026-01-01T00:05:00"),
        ("0 17 * * * *", "2026-01-01T00:17:00", "2026-01-01T01:17:00"),
        ("30 0 3 * * *", "2026-01-01T04:00:00", "2026-01-02T03:00:30"),
        ("0 0 9 * * MON-FRI", "2026-01-02T10:00:00", "2026-01-05T09:00:00"),  # Friday -> Monday
        ("0 0 0 1 JAN,JUL *", "2026-01-01T00:00:00", "2026-07-01T00:00:00"),
        ("0 0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("5-10/5 * * * * *", "2026-01-01T00:00:05", "2026-01-01T00:00:10"),
    ],
)
def test_next_occurrences(expression: str, after: str, expected: str) -> None:
    assert Schedule.parse(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("*/5 * * * *", "six fields"),
        ("00:05:00", "TimeSpan"),
        ("0 60 * * * *", "out of range"),
        ("0 * * * * FUNDAY", "invalid day-of-week"),
        ("0 10-5 * * * *", "empty minute range"),
    ],
)
def test_schedules_the_host_refuses(expression: str, complaint: str) -> None:
    with pytest.raises(ScheduleError, match=complaint):
        Schedule.parse(expression)


@pytest.fixture
async def timed_host(tmp_path: Path) -> AsyncIterator[tuple[DevHost, VirtualClock]]:
    clock = VirtualClock(START)
    async with DevHost(
        APP_DIR,
        settings=app_settings(tmp_path),
        state_dir=tmp_path / "state",
        clock=clock,
        blob_poll_interval=None,
    ) as host:
        yield host, clock


async def test_a_timer_runs_at_each_occurrence_of_its_schedule(
    timed_host: tuple[DevHost, VirtualClock],
) -> None:
    host, clock = timed_host
    runs = host.app_module.TIMER_RUNS
    assert host.timers.runs[TIMER] == 0  # no runOnStartup

    clock.set(at("2026-01-01T00:05:00"))
    await host.timers.wait_for_runs(TIMER, 1)
    assert runs[0]["past_due"] is False
    assert runs[0]["Next"] == "2026-01-01T00:10:00+00:00"

    # Time jumps over five occurrences: the host runs the function once, past due.
    clock.set(at("2026-01-01T00:31:00"))
    await host.timers.wait_for_runs(TIMER, 2)
    assert runs[1]["past_due"] is True
    assert runs[1]["Last"] == "2026-01-01T00:05:00+00:00"
    clock.advance(timedelta(minutes=3))  # 00:34: no occurrence passed
    clock.set(at("2026-01-01T00:35:00"))
    await host.timers.wait_for_runs(TIMER, 3)
    assert len(runs) == 3


async def test_the_admin_api_runs_a_timer_function_now(timed_host: tuple[DevHost, VirtualClock]) -> None:
    host, _ = timed_host
    async with httpx.AsyncClient(base_url=host.base_url) as http:
        response = await http.post(f"/admin/functions/{TIMER}", json={"input": ""})
        assert response.status_code == 202
        await host.timers.wait_for_runs(TIMER, 1)
        assert (await http.post("/admin/functions/echo", json={})).status_code == 404
    assert len(host.app_module.TIMER_RUNS) == 1


async def test_the_admin_api_needs_the_master_key_when_keys_are_enforced(tmp_path: Path) -> None:
    async with (
        DevHost(
            APP_DIR, settings=app_settings(tmp_path), state_dir=tmp_path / "s", clock=VirtualClock(START),
            enforce_keys=True, blob_poll_interval=None,
        ) as host,
        httpx.AsyncClient(base_url=host.base_url) as http,
    ):  # fmt: skip
        assert (await http.post(f"/admin/functions/{TIMER}")).status_code == 401
        host_key = {"x-functions-key": host.keys["host:default"]}
        assert (await http.post(f"/admin/functions/{TIMER}", headers=host_key)).status_code == 401
        master = {"x-functions-key": host.keys["master"]}
        assert (await http.post(f"/admin/functions/{TIMER}", headers=master)).status_code == 202


async def test_a_schedule_the_host_would_refuse_stops_the_start(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    (app / "function_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp()\n"
        "@app.timer_trigger(arg_name='t', schedule='%PURGE_SCHEDULE%')\n"
        "def purge(t: func.TimerRequest) -> None:\n"
        "    pass\n",
        encoding="utf-8",
    )
    with pytest.raises(AppLoadError, match="PURGE_SCHEDULE"):
        async with DevHost(app, state_dir=tmp_path / "s", clock=VirtualClock(START), blob_poll_interval=None):
            pass
    with pytest.raises(AppLoadError, match="six fields"):
        async with DevHost(
            app, settings={"PURGE_SCHEDULE": "0 * * * *"}, state_dir=tmp_path / "s2",
            clock=VirtualClock(START), blob_poll_interval=None,
        ):  # fmt: skip
            pass
