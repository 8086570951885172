from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.jobs import (
    InputFate,
    PollingPolicy,
    definition_hash,
    from_iso,
    job_outcome,
    job_status,
    next_poll_interval,
    to_iso,
)

POLICY: PollingPolicy = {"initialIntervalSeconds": 1.0, "maxIntervalSeconds": 15.0, "deadlineSeconds": 60.0}


def test_backoff_doubles_from_the_initial_interval_to_the_maximum() -> None:
    assert [next_poll_interval(POLICY, n, None) for n in range(1, 7)] == [1, 2, 4, 8, 15, 15]


def test_retry_after_wins_over_backoff() -> None:
    assert next_poll_interval(POLICY, 1, 7.5) == 7.5
    assert next_poll_interval(POLICY, 6, 30) == 30
    assert next_poll_interval(POLICY, 3, 0) == 4  # a zero Retry-After means "no advice"


def test_definition_hash_is_stable_and_sensitive() -> None:
    definition = {"fieldSchema": {"fields": {"A": {"type": "string"}}}, "description": "x"}
    reordered = {"description": "x", "fieldSchema": {"fields": {"A": {"type": "string"}}}}
    assert definition_hash(definition) == definition_hash(reordered)
    assert definition_hash(definition) != definition_hash({**definition, "description": "y"})


@pytest.mark.parametrize(
    ("runtime", "output", "expected"),
    [
        (None, None, "pending"),
        ("Pending", None, "pending"),
        ("Running", None, "running"),
        ("ContinuedAsNew", None, "running"),
        ("Terminated", "Canceled by the user", "canceled"),
        ("Failed", "boom", "failed"),
        ("Completed", {"status": "partially_succeeded"}, "partially_succeeded"),
        ("Completed", {"status": "succeeded"}, "succeeded"),
        ("Completed", {"status": "nonsense"}, "failed"),
    ],
)
def test_job_status(runtime: str | None, output: object, expected: str) -> None:
    assert job_status(runtime, output) == expected


def fate(status: str) -> InputFate:
    return {"index": 0, "name": "x", "status": status}  # type: ignore[typeddict-item]


def test_job_outcome() -> None:
    assert job_outcome([fate("succeeded"), fate("succeeded")]) == "succeeded"
    assert job_outcome([fate("succeeded"), fate("failed")]) == "partially_succeeded"
    assert job_outcome([fate("failed"), fate("skipped")]) == "failed"
    assert job_outcome([]) == "failed"


def test_iso_round_trip() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    assert to_iso(moment) == "2026-01-02T03:04:05.600000Z"
    assert from_iso(to_iso(moment)) == moment
