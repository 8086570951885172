"""What the store keeps in memory: running instances' histories between episodes
(`Store.episode_history`) and instance rows (`Store.instance`, read by every status query).

SQLite stays the source of truth: a copy must always equal the stored rows, be dropped when they
change otherwise (or a transaction rolls back), and never be needed to resume after a restart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from devhost import DevHost, VirtualClock
from devhost.durable import wire
from devhost.durable.episode import context_json, plan_episode
from devhost.durable.store import EVENT, START, EpisodeCommit, Instance, Message, NewMessage, Store
from devhost.durable.wire import Event, EventType, RuntimeStatus
from tests.devhost.conftest import APP_DIR, app_settings, eventually, start

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def stored_rows(store: Store, instance_id: str) -> list[Event]:
    return store.history(instance_id)


def episode(store: Store, instance: Instance, *events: Event, status: RuntimeStatus) -> None:
    stored = store.episode_history(instance.instance_id)
    instance.runtime_status = status
    store.commit_episode(
        EpisodeCommit(
            instance=instance,
            consumed=[],
            history_append=[wire.orchestrator_started(NOW), *events, wire.orchestrator_completed(NOW)],
            history_length=len(stored.events),
        )
    )


def running(store: Store, instance_id: str = "i1") -> Instance:
    instance = Instance.pending(instance_id, "orch", '"input"', 0)
    store.start_instance(instance, 0)
    return instance


def test_the_copy_follows_each_committed_episode_and_equals_the_rows(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    instance = running(store)
    episode(store, instance, wire.task_scheduled(NOW, 0, "work", '"é"'), status=RuntimeStatus.RUNNING)
    first = store.episode_history("i1")
    episode(
        store, instance, wire.task_completed(NOW, 0, '{"a": [1, 2.5, null]}'), status=RuntimeStatus.RUNNING
    )
    second = store.episode_history("i1")
    assert second is first  # kept, not reread
    assert second.events == stored_rows(store, "i1")
    assert second.texts == [json.dumps(event) for event in stored_rows(store, "i1")]
    store.close()

    reopened = Store(tmp_path / "s.sqlite3")  # a restarted host: everything from the file
    assert reopened.cached_history("i1") is None
    assert reopened.episode_history("i1").events == second.events
    assert reopened.episode_history("i1").texts == second.texts


def test_the_copy_is_dropped_when_the_rows_change_otherwise(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    instance = running(store)
    episode(store, instance, status=RuntimeStatus.RUNNING)
    assert store.cached_history("i1") is not None
    episode(store, instance, wire.execution_terminated(NOW, "stop"), status=RuntimeStatus.TERMINATED)
    assert store.cached_history("i1") is None  # final: no further episode needs it

    replaced = running(store)  # a new instance with the same id
    assert store.episode_history("i1").events == []
    episode(store, replaced, status=RuntimeStatus.RUNNING)
    new_execution = Instance.pending("i1", "orch", None, 0)
    new_execution.runtime_status = RuntimeStatus.CONTINUED_AS_NEW
    store.commit_episode(EpisodeCommit(instance=new_execution, consumed=[], history_reset=True))
    assert store.cached_history("i1") is None
    assert store.episode_history("i1").events == []

    episode(store, new_execution, status=RuntimeStatus.COMPLETED)
    store.episode_history("i1")
    assert store.purge(["i1"]) == 1
    assert store.cached_history("i1") is None
    assert store.episode_history("i1").events == []


def test_the_payload_built_from_stored_texts_is_byte_identical(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    instance = running(store)
    episode(
        store,
        instance,
        wire.task_scheduled(NOW, 0, "wörk", '{"x": "\\u00e9\\n"}'),
        status=RuntimeStatus.RUNNING,
    )
    stored = store.episode_history("i1")
    messages = [Message("i1", instance.execution_id, START, {}, 0, id=1)]
    with_texts = plan_episode(instance, stored.events, messages, NOW, history_texts=stored.texts)
    without = plan_episode(instance, stored.events, messages, NOW)
    assert context_json(with_texts) == context_json(without)
    whole = json.loads(context_json(without))
    assert context_json(without) == json.dumps(whole)  # json.dumps of the whole object, "history" first


async def test_a_restart_after_cached_episodes_resumes_from_the_file(tmp_path: Path) -> None:
    settings, state = app_settings(tmp_path), tmp_path / "state"
    async with DevHost(
        APP_DIR, settings=settings, state_dir=state, clock=VirtualClock(), blob_poll_interval=None
    ) as first:
        async with httpx.AsyncClient(base_url=first.base_url) as http:
            instance_id = await start(http, "approval")
            await http.post(f"/api/instances/{instance_id}/events/approval", json="one")
        await eventually(
            lambda: any(e["EventType"] == EventType.EVENT_RAISED for e in first.history(instance_id))
        )
        before = first.history(instance_id)

    async with DevHost(
        APP_DIR, settings=settings, state_dir=state, clock=VirtualClock(), blob_poll_interval=None
    ) as second:
        assert second.history(instance_id) == before
        async with httpx.AsyncClient(base_url=second.base_url) as http:
            await http.post(f"/api/instances/{instance_id}/events/approval", json="two")
        assert (await second.wait_for(instance_id))["output"] == {"first": '"one"', "second": '"two"'}
        assert second.history(instance_id)[: len(before)] == before


async def test_a_terminated_and_restarted_instance_replays_only_its_new_history(tmp_path: Path) -> None:
    async with DevHost(
        APP_DIR,
        settings=app_settings(tmp_path),
        state_dir=tmp_path / "state",
        clock=VirtualClock(),
        blob_poll_interval=None,
    ) as host:
        async with httpx.AsyncClient(base_url=host.base_url) as http:
            instance_id = await start(http, "approval", instance_id="same")
            await http.post(f"/api/instances/{instance_id}/events/approval", json="old")
            await eventually(
                lambda: any(e["EventType"] == EventType.EVENT_RAISED for e in host.history(instance_id))
            )
            host.engine.terminate(instance_id, "enough")
            assert (await host.wait_for(instance_id))["runtimeStatus"] == "Terminated"
            await start(http, "approval", instance_id="same")  # replaces the terminated instance
            for value in ("new 1", "new 2"):
                await http.post(f"/api/instances/{instance_id}/events/approval", json=value)
            status = await host.wait_for(instance_id)
        assert status["output"] == {"first": '"new 1"', "second": '"new 2"'}
        kinds = [e["EventType"] for e in host.history(instance_id)]
        assert kinds.count(EventType.EXECUTION_STARTED) == 1
        assert EventType.EXECUTION_TERMINATED not in kinds


def test_instance_rows_are_read_from_memory_as_committed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    instance = running(store)
    episode(store, instance, status=RuntimeStatus.RUNNING)
    copy = store.instance("i1")
    assert copy is not None
    copy.runtime_status = RuntimeStatus.FAILED  # a caller's copy: changing it changes nothing stored
    assert store.instance("i1") == Store(tmp_path / "s.sqlite3").instance("i1")
    assert store.instance("i1").runtime_status is RuntimeStatus.RUNNING  # type: ignore[union-attr]

    broken = Instance.pending("i1", "orch", None, 0)
    broken.runtime_status = RuntimeStatus.COMPLETED
    unserializable = NewMessage("i1", None, EVENT, {"value": object()}, 0)
    with pytest.raises(TypeError):  # fails inside the transaction, after the row was written
        store.commit_episode(EpisodeCommit(instance=broken, consumed=[], messages=[unserializable]))
    store.enqueue([NewMessage("i1", None, EVENT, {}, 0)])  # the next transaction commits nothing of it
    assert store.instance("i1") == Store(tmp_path / "s.sqlite3").instance("i1")
    assert store.instance("i1").runtime_status is RuntimeStatus.RUNNING  # type: ignore[union-attr]

    assert store.purge(["i1"]) == 1
    assert store.instance("i1") is None
