"""The activity boundary: payload to typed request, typed result to envelope, and the error policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from activities.analysis import run_begin_analysis, run_get_analyzer_state, run_get_operation
from activities.boundary import activity_boundary
from activities.storage import run_create_sas, run_package_inputs
from core.contracts.named import ActivityContract
from core.contracts.wire import NonEmptyStr
from core.errors import InputError, TransientError


@dataclass(frozen=True)
class Echo:
    job_id: NonEmptyStr
    index: int
    fail: str = ""


@dataclass(frozen=True)
class Echoed:
    job_id: str
    twice: int


ECHO = ActivityContract("echo", Echo, Echoed, echoed_on_failure=("index",))


async def echo(request: Echo) -> Echoed:
    if request.fail == "permanent":
        raise InputError("That input is unusable", code="Unusable")
    if request.fail == "transient":
        raise TransientError("Try again")
    return Echoed(job_id=request.job_id, twice=request.index * 2)


run_echo = activity_boundary(ECHO, echo)


async def test_a_typed_result_comes_back_in_a_success_envelope() -> None:
    assert await run_echo({"jobId": "j", "index": 2}) == {"ok": True, "jobId": "j", "twice": 4}


async def test_a_permanent_error_comes_back_as_data_with_the_echoed_fields() -> None:
    assert await run_echo({"jobId": "j", "index": 2, "fail": "permanent"}) == {
        "ok": False,
        "index": 2,
        "error": {"code": "Unusable", "message": "That input is unusable", "transient": False},
    }


async def test_a_transient_error_raises_so_the_host_retries() -> None:
    with pytest.raises(TransientError):
        await run_echo({"jobId": "j", "index": 2, "fail": "transient"})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "Activity input is malformed: the payload must be a JSON object"),
        ({"index": 1}, "Activity input is malformed: 'jobId' is missing"),
        ({"jobId": "j", "index": 1.5}, "Activity input is malformed: 'index' must be an integer"),
    ],
)
async def test_a_malformed_payload_is_a_permanent_invalid_activity_input(payload: Any, message: str) -> None:
    answer = await run_echo(payload)
    assert answer["ok"] is False
    assert answer["error"] == {"code": "InvalidActivityInput", "message": message, "transient": False}


@pytest.mark.parametrize(
    "run",
    [
        run_get_analyzer_state,
        run_begin_analysis,
        run_get_operation,
        run_create_sas,
        run_package_inputs,
    ],
)
async def test_every_activity_checks_its_payload_before_any_io(run: Any) -> None:
    # No storage and no CU here: the payload is refused before either would be reached.
    answer = await run({"unexpected": True})
    assert answer["ok"] is False
    assert answer["error"]["code"] == "InvalidActivityInput"
