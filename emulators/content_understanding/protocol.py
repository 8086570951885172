"""What the emulator's route modules share: request keys, JSON bodies, lookups, poll answers."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from emulators.content_understanding.errors import ServiceError, invalid, not_found
from emulators.content_understanding.state import Analyzer, EmulatorState, Operation
from emulators.content_understanding.versions import RULES, VersionRules

STATE = web.AppKey("state", EmulatorState)
API_VERSION = web.RequestKey("api_version", str)
BASE = "/contentunderstanding"
MERGE_PATCH = "application/merge-patch+json"


def seconds_header(seconds: float) -> str:
    """``Retry-After``: whole seconds as Azure sends them; fractions kept for fast tests."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def state_of(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def rules_of(request: web.Request) -> VersionRules:
    return RULES[request[API_VERSION]]


async def json_body(request: web.Request, *, content_type: str = "application/json") -> Any:
    if request.content_type != content_type:
        raise ServiceError(415, "UnsupportedMediaType", f"The request body must be {content_type}.")
    try:
        return await request.json(loads=json.loads)
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None


def origin(request: web.Request) -> str:
    return str(request.url.origin())


def existing_analyzer(request: web.Request, analyzer_id: str) -> Analyzer:
    analyzer = state_of(request).find_analyzer(analyzer_id, request[API_VERSION])
    if analyzer is None:
        raise not_found(f"Analyzer '{analyzer_id}' was not found.")
    return analyzer


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396: objects merge, ``null`` removes, anything else replaces."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def find_operation(request: web.Request, kind: str) -> Operation:
    operation = state_of(request).operations.get(request.match_info["operation_id"])
    if operation is None or operation.kind != kind:
        raise not_found(f"Operation '{request.match_info['operation_id']}' was not found.")
    return operation


def poll_response(request: web.Request, operation: Operation) -> web.Response:
    state = state_of(request)
    state.stats.poll_times.setdefault(operation.operation_id, []).append(time.time())
    headers = {} if operation.is_terminal else {"Retry-After": seconds_header(state.faults.retry_after)}
    return web.json_response(operation.to_json(), headers=headers)
