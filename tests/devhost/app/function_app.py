"""devhost's own test app: one small function per behaviour the devhost tests check.

It is written like any Python v2-model Durable Functions app (nothing devhost-specific), plus a
few module-level hooks (`GATES`, `PROBE`, `CALLS`) that in-process tests reach through
`DevHost.app_module` to hold activities or count calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Generator
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

Orchestration = Generator[Any, Any, Any]


class Gates:
    """Named gates an activity can wait on, opened by a test (disabled unless `enabled`)."""

    def __init__(self) -> None:
        self.enabled = False
        self.waiting: list[str] = []
        self._events: dict[str, asyncio.Event] = {}

    def _event(self, name: str) -> asyncio.Event:
        return self._events.setdefault(name, asyncio.Event())

    async def wait(self, name: str) -> None:
        if self.enabled:
            self.waiting.append(name)
            await self._event(name).wait()

    def open(self, name: str) -> None:
        self._event(name).set()


class Probe:
    """Counts how many activities run at once, and on which threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.threads: set[str] = set()

    def enter(self) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.current_thread().name)

    def leave(self) -> None:
        with self._lock:
            self.running -= 1


GATES = Gates()
PROBE = Probe()
CALLS: Counter[str] = Counter()


def _json(value: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


# -- HTTP functions using the durable client, unmodified --------------------------------------


@app.route(route="start/{name}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    try:
        instance_id = await client.start_new(
            req.route_params["name"], req.route_params.get("instance_id"), json.loads(body) if body else None
        )
    except Exception as exc:
        return _json({"error": str(exc)}, 409)
    response: func.HttpResponse = client.create_check_status_response(req, instance_id)
    return response


@app.route(route="instances/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    status = await client.get_status(
        req.route_params["instance_id"],
        show_history=req.params.get("history") == "1",
        show_history_output=req.params.get("history") == "1",
        show_input=True,
    )
    if not status:
        return _json({"found": False, "runtimeStatus": None}, 404)
    return _json(status.to_json())


@app.route(route="instances", methods=["GET"])
@app.durable_client_input(client_name="client")
async def list_instances(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    statuses = req.params.get("status")
    if statuses:
        wanted = [df.OrchestrationRuntimeStatus(s) for s in statuses.split(",")]
        found = await client.get_status_by(runtime_status=wanted)
    else:
        found = await client.get_status_all()
    return _json(sorted(str(s.instance_id) for s in found))


@app.route(route="instances/{instance_id}/events/{event}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def raise_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        await client.raise_event(req.route_params["instance_id"], req.route_params["event"], req.get_json())
    except Exception as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"raised": True}, 202)


@app.route(route="instances/{instance_id}/{operation:alpha}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def manage(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id, operation = req.route_params["instance_id"], req.route_params["operation"]
    reason = req.params.get("reason", "test")
    try:
        if operation == "terminate":
            await client.terminate(instance_id, reason)
        elif operation == "suspend":
            await client.suspend(instance_id, reason)
        elif operation == "resume":
            await client.resume(instance_id, reason)
        elif operation == "restart":
            return _json({"restarted": await client.restart(instance_id, restart_with_new_instance_id=False)})
        else:
            return _json({"error": f"unknown operation {operation}"}, 404)
    except Exception as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"done": operation}, 202)


@app.route(route="instances/{instance_id}", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def purge(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    result = await client.purge_instance_history(req.route_params["instance_id"])
    return _json({"deleted": result.instances_deleted})


# -- plain HTTP functions -------------------------------------------------------------------------


@app.route(route="echo/{first}/{second?}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json(
        {
            "method": req.method,
            "url": req.url,
            "params": dict(req.params),
            "route": dict(req.route_params),
            "header": req.headers.get("x-test-header"),
            "body": req.get_body().decode(),
            "function": context.function_name,
            "thread": threading.current_thread().name,
        }
    )


@app.route(route="items/{item_id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"item {req.route_params['item_id']}", headers={"X-Item": "yes"})


@app.route(route="admin/ping", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("this HTTP function always fails")


# -- the reference's worked example (fan-out of 3, task_all, custom status, timer) ----------------


@app.orchestration_trigger(context_name="context")
def orch(context: df.DurableOrchestrationContext) -> Orchestration:
    data = context.get_input()
    tasks = [context.call_activity("upload", {"name": n}) for n in data["files"]]
    results = yield context.task_all(tasks)
    context.set_custom_status({"stage": "waiting", "uploaded": len(results)})
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    return {"results": results, "replaying_at_end": context.is_replaying}


@app.activity_trigger(input_name="item")
async def upload(item: dict[str, str]) -> str:
    await GATES.wait(item["name"])
    return f"blob://{item['name']}"


# -- activities, retries, task_all/task_any --------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext) -> Orchestration:
    value = context.get_input()["start"]
    for _ in range(context.get_input()["steps"]):
        value = yield context.call_activity("add_one", value)
    return value


@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1


@app.orchestration_trigger(context_name="context")
def flaky_orch(context: df.DurableOrchestrationContext) -> Orchestration:
    spec = context.get_input()
    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=5000, max_number_of_attempts=spec["attempts"]
    )
    first = yield context.call_activity_with_retry("flaky", retry, spec)
    after = yield context.call_activity("add_one", 41)
    return {"first": first, "after": after}


@app.activity_trigger(input_name="spec")
def flaky(spec: dict[str, Any]) -> str:
    CALLS[spec["key"]] += 1
    attempt = CALLS[spec["key"]]
    if attempt <= spec["failures"]:
        raise ConnectionError(f"attempt {attempt} failed")
    return f"ok after {attempt} attempts"


@app.orchestration_trigger(context_name="context")
def drain(context: df.DurableOrchestrationContext) -> Orchestration:
    tasks = [context.call_activity("maybe_fail", name) for name in ("a", "bad", "c")]
    first_error = None
    try:
        yield context.task_all(tasks)
    except Exception as exc:
        first_error = str(exc)
    for task in tasks:
        if not task.is_completed:
            with contextlib.suppress(Exception):
                yield task
    outcomes = [{"ok": t.state is not df.models.Task.TaskState.FAILED, "value": str(t.result)} for t in tasks]
    return {"first_error": first_error, "outcomes": outcomes, "empty": (yield context.task_all([]))}


@app.orchestration_trigger(context_name="context")
def all_or_nothing(context: df.DurableOrchestrationContext) -> Orchestration:
    results = yield context.task_all([context.call_activity("maybe_fail", n) for n in ("bad", "slow")])
    return results


@app.activity_trigger(input_name="name")
async def maybe_fail(name: str) -> str:
    await GATES.wait(name)
    if name == "bad":
        raise ValueError(f"input {name} is bad")
    return name.upper()


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext) -> Orchestration:
    work = context.call_activity("maybe_fail", context.get_input())
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    winner = yield context.task_any([work, timeout])
    if winner == work:
        timeout.cancel()
        return {"winner": "work", "value": work.result}
    return {"winner": "timer"}


@app.orchestration_trigger(context_name="context")
def activity_fails(context: df.DurableOrchestrationContext) -> Orchestration:
    return (yield context.call_activity("maybe_fail", "bad"))


# -- sub-orchestrations, continue-as-new, timers, events -------------------------------------------


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext) -> Orchestration:
    explicit = yield context.call_sub_orchestrator("child", {"n": 1}, f"{context.instance_id}-child")
    default = yield context.call_sub_orchestrator("child", {"n": 2})
    try:
        yield context.call_sub_orchestrator("child", {"n": 3, "fail": True})
    except Exception as exc:
        failure = str(exc)
    return {"explicit": explicit, "default": default, "failure": failure}


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext) -> Orchestration:
    data = context.get_input()
    value = yield context.call_activity("add_one", data["n"])
    if data.get("fail"):
        raise ValueError(f"child {data['n']} was told to fail")
    return {"value": value, "instance": context.instance_id, "parent": context.parent_instance_id}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext) -> Orchestration:
    count = context.get_input()
    if count >= 3:
        return {"final": count}
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    context.continue_as_new(count + 1)
    return None


@app.orchestration_trigger(context_name="context")
def long_timer(context: df.DurableOrchestrationContext) -> Orchestration:
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(days=7))
    return {"started": started.isoformat(), "woke": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext) -> Orchestration:
    first = yield context.wait_for_external_event("approval")
    second = yield context.wait_for_external_event("approval")
    return {"first": first, "second": second}


@app.orchestration_trigger(context_name="context")
def custom_status(context: df.DurableOrchestrationContext) -> Orchestration:
    context.set_custom_status({"stage": "one"})
    yield context.call_activity("add_one", 1)
    context.set_custom_status("")  # falsy: the SDK does not send it, the previous value stays
    yield context.call_activity("add_one", 2)
    if context.get_input() == "too big":
        context.set_custom_status("x" * 9000)  # 18,000 bytes of UTF-16: over the 16 KB limit
        yield context.call_activity("add_one", 3)
    return "done"


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext) -> Orchestration:
    context.set_custom_status({"stage": "about to fail"})
    yield context.call_activity("add_one", 1)
    raise RuntimeError("the orchestrator broke")


@app.orchestration_trigger(context_name="context")
def drifting(context: df.DurableOrchestrationContext) -> Orchestration:
    # Deliberately non-deterministic: a setting decides which activity runs first.
    first = "add_one" if os.environ.get("DEVHOST_TEST_VARIANT", "1") == "1" else "add_two"
    value = yield context.call_activity(first, 1)
    yield context.wait_for_external_event("go")
    return value


@app.activity_trigger(input_name="value")
def add_two(value: int) -> int:
    return value + 2


# -- concurrency ---------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def probe(context: df.DurableOrchestrationContext) -> Orchestration:
    kind = context.get_input()
    yield context.task_all([context.call_activity(f"probe_{kind}", i) for i in range(8)])
    return kind


@app.activity_trigger(input_name="index")
def probe_sync(index: int) -> int:
    PROBE.enter()
    time.sleep(0.05)
    PROBE.leave()
    return index


@app.activity_trigger(input_name="index")
async def probe_async(index: int) -> int:
    PROBE.enter()
    await asyncio.sleep(0.05)
    PROBE.leave()
    return index


# -- crash recovery: slow steps that leave a trace on disk ---------------------------------------


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext) -> Orchestration:
    done = []
    for step in range(context.get_input()):
        done.append((yield context.call_activity("slow_step", step)))
    return done


@app.activity_trigger(input_name="step")
def slow_step(step: int) -> int:
    trace = Path(os.environ["DEVHOST_TEST_TRACE_DIR"])
    with (trace / "steps.log").open("a", encoding="utf-8") as log:
        log.write(f"start {step}\n")
    time.sleep(1.0 if step == 1 else 0.1)  # step 1 is long enough to be killed in the middle
    with (trace / "steps.log").open("a", encoding="utf-8") as log:
        log.write(f"end {step}\n")
    return step


# -- blob trigger starting an orchestration --------------------------------------------------------


@app.blob_trigger(
    arg_name="blob",
    path="devhost-intake/{name}",
    connection="DevhostTestStorage",
    source=func.BlobSource.EVENT_GRID,
)
@app.durable_client_input(client_name="client")
async def intake(blob: func.blob.InputStream, client: df.DurableOrchestrationClient) -> None:
    await _start_from_blob(blob, client)


@app.blob_trigger(arg_name="blob", path="devhost-scan/{name}", connection="DevhostTestStorage")
@app.durable_client_input(client_name="client")
async def scanned_intake(blob: func.blob.InputStream, client: df.DurableOrchestrationClient) -> None:
    """The same, with the default (polling) source: found by container scans, not by events."""
    await _start_from_blob(blob, client)


async def _start_from_blob(blob: func.blob.InputStream, client: df.DurableOrchestrationClient) -> None:
    properties = blob.blob_properties or {}
    etag = str(properties.get("ETag"))
    instance_id = hashlib.sha256(f"{blob.name}|{etag}".encode()).hexdigest()[:32]
    CALLS[f"intake:{blob.name}"] += 1
    text = blob.read().decode()
    if text == "explode":
        raise ValueError(f"cannot take {blob.name}")
    if await client.get_status(instance_id):
        return  # at-least-once delivery: this version already started a job
    details = {
        "name": blob.name,
        "uri": blob.uri,
        "length": blob.length,
        "etag": etag,
        "content_type": properties.get("ContentType"),
        "metadata": blob.metadata,
        "text": text,
    }
    await client.start_new("echo_input", instance_id, details)


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext) -> Orchestration:
    yield context.call_activity("add_one", 0)
    return context.get_input()


# -- Azure's limits and behaviours (tests/devhost/fidelity/) ---------------------------------------


@app.route(route="slow/{seconds}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def slow_http(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(float(req.route_params["seconds"]))
    CALLS["slow_http:done"] += 1
    return func.HttpResponse("finally")


@app.route(route="body", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def body_size(req: func.HttpRequest) -> func.HttpResponse:
    CALLS["body_size"] += 1
    return _json({"bytes": len(req.get_body())})


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext) -> Orchestration:
    return (yield context.call_activity("sleep_for", context.get_input()))


@app.activity_trigger(input_name="seconds")
async def sleep_for(seconds: float) -> str:
    await asyncio.sleep(seconds)
    CALLS["sleep_for:done"] += 1
    return "woke"


@app.orchestration_trigger(context_name="context")
def parent_waits(context: df.DurableOrchestrationContext) -> Orchestration:
    return (yield context.call_sub_orchestrator("approval", None, f"{context.instance_id}-approval"))


@app.orchestration_trigger(context_name="context")
def race_uncancelled(context: df.DurableOrchestrationContext) -> Orchestration:
    work = context.call_activity("add_one", 1)
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    winner = yield context.task_any([work, timeout])
    return {"winner": "work" if winner == work else "timer"}  # the timer is not cancelled


@app.orchestration_trigger(context_name="context")
def self_child(context: df.DurableOrchestrationContext) -> Orchestration:
    child_id = context.get_input() or context.instance_id
    return (yield context.call_sub_orchestrator("child", {"n": 1}, child_id))


@app.orchestration_trigger(context_name="context")
def long_retry(context: df.DurableOrchestrationContext) -> Orchestration:
    days = context.get_input()
    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=int(days * 86_400_000), max_number_of_attempts=2
    )
    return (yield context.call_activity_with_retry("add_one", retry, 1))


@app.orchestration_trigger(context_name="context")
def status_of_size(context: df.DurableOrchestrationContext) -> Orchestration:
    context.set_custom_status("x" * context.get_input())  # JSON "xx..": 2 x (n + 2) bytes of UTF-16
    yield context.call_activity("add_one", 1)
    return "done"


@app.orchestration_trigger(context_name="context")
def fan_out_gated(context: df.DurableOrchestrationContext) -> Orchestration:
    return (
        yield context.task_all([context.call_activity("upload", {"name": n}) for n in context.get_input()])
    )


# -- timer triggers -------------------------------------------------------------------------------

TIMER_RUNS: list[dict[str, Any]] = []  # what each run of `every_five_minutes` was told


@app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True)
def every_five_minutes(timer: func.TimerRequest) -> None:
    status: dict[str, Any] = getattr(timer, "schedule_status", {})  # azure.functions' TimerRequest
    TIMER_RUNS.append({"past_due": timer.past_due, **status})
