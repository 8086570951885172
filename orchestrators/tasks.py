"""Helpers for orchestrator generators: settling a fan-out and the activity retry policy.

Pure: no I/O, clock, environment or randomness (see tests/unit/test_orchestrator_purity.py).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df

# Transient failures raise in activities and are retried by the host with this policy. Python's
# RetryOptions has no backoff, so the delay is constant; the CU client already retries with backoff
# inside each attempt. max_number_of_attempts counts the first attempt.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=4)


@dataclass(frozen=True)
class Outcome:
    """How one task of a fan-out ended: its value, or the error text the host reported."""

    ok: bool
    value: Any
    error: str | None

    @property
    def error_info(self) -> dict[str, Any]:
        """The failure as summary data: an activity's own envelope, or the host's message."""
        if self.ok and isinstance(self.value, dict) and self.value.get("ok") is False:
            return dict(self.value.get("error") or {"code": "Failed", "message": "failed"})
        return {"code": "ActivityFailed", "message": first_line(self.error or "failed"), "transient": True}

    @property
    def succeeded(self) -> bool:
        """True when the task completed and (for envelopes) reported ``ok``."""
        if not self.ok:
            return False
        return not (isinstance(self.value, dict) and self.value.get("ok") is False)


def settle(context: Any, tasks: Sequence[Any]) -> Generator[Any, Any, list[Outcome]]:
    """Wait for every task, even after one fails (``task_all`` fails fast), and report each.

    The "drain" pattern verified for azure-functions-durable 1.7: catch the WhenAll failure, then
    yield each unfinished task; yielding an already-scheduled task schedules nothing new.
    """
    if not tasks:
        return []  # task_all([]) would yield None, not []
    try:
        yield context.task_all(list(tasks))
    except Exception:
        for task in tasks:
            if not task.is_completed:
                try:
                    yield task
                except Exception:  # noqa: S112 - recorded per task below
                    continue
    return [_outcome(task) for task in tasks]


def _outcome(task: Any) -> Outcome:
    if isinstance(task.result, BaseException):
        return Outcome(ok=False, value=None, error=str(task.result))
    return Outcome(ok=True, value=task.result, error=None)


def first_line(message: str) -> str:
    """The host reports failures as "Reason \\n Details"; the reason is the useful part."""
    reason = message.split("\n", 1)[0].strip()
    return reason[:500]
