"""What every request goes through: the key, the API version, latency and injected faults, and
the service's error shape for anything that goes wrong."""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from emulators.content_understanding.errors import INTERNAL_ERROR, ServiceError
from emulators.content_understanding.protocol import API_VERSION, BASE, seconds_header, state_of
from emulators.content_understanding.state import EmulatorState
from emulators.content_understanding.versions import RETIRED, RULES

logger = logging.getLogger(__name__)
_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
_FAULT_BODIES = {
    429: ("429", "Rate limit is exceeded. Try again in {retry} seconds."),
    500: ("InternalServerError", "An unexpected error occurred."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Try again in {retry} seconds."),
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def service_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, API version, latency and fault injection, and the service's error shape for everything."""
    state = state_of(request)
    state.stats.requests += 1
    service_call = request.path.startswith(BASE + "/") or request.path == BASE
    try:
        if service_call and state.faults.latency_ms:
            await asyncio.sleep(state.faults.latency_ms / 1000)
        _authenticate(request, state)
        if service_call:
            request[API_VERSION] = _api_version(request)
            _maybe_fault(state)
        response = await handler(request)
    except ServiceError as error:
        response = error.response()
    except web.HTTPException as error:  # no such route or method
        code = "NotFound" if error.status == 404 else "MethodNotAllowed" if error.status == 405 else "Error"
        response = ServiceError(error.status, code, error.reason).response()
    except Exception:  # a bug in the emulator: answer like the service would, and say so in the log
        logger.exception("Unexpected error handling %s %s", request.method, request.path)
        state.stats.emulator_errors += 1
        response = ServiceError(500, INTERNAL_ERROR["code"], INTERNAL_ERROR["message"]).response()
    response.headers["apim-request-id"] = str(uuid.uuid4())
    if client_request_id := request.headers.get("x-ms-client-request-id"):
        response.headers["x-ms-client-request-id"] = client_request_id
    return response


def _authenticate(request: web.Request, state: EmulatorState) -> None:
    key = request.headers.get("Ocp-Apim-Subscription-Key")
    if key is not None and hmac.compare_digest(key.encode(), state.config.key.encode()):
        return
    if key is None and request.headers.get("Authorization", "").startswith("Bearer "):
        raise ServiceError(
            401, "PermissionDenied", "The emulator accepts only Ocp-Apim-Subscription-Key, not tokens."
        )
    raise ServiceError(401, "401", _DENIED)


def _api_version(request: web.Request) -> str:
    """A live version. Unknown and retired versions get ``400 UnsupportedApiVersion``, the code the
    Azure REST API guidelines give for a version the service does not support; Azure does not document
    what a retired CU version answers, so this shape is our choice (the message names the version)."""
    version = request.query.get("api-version")
    if not version:
        raise ServiceError(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
    if version not in RULES:
        state = "has been retired" if version in RETIRED else "is not supported"
        raise ServiceError(
            400, "UnsupportedApiVersion",
            f"The api-version '{version}' {state}. Supported versions: {', '.join(sorted(RULES))}.",
            target="api-version",
        )  # fmt: skip
    return version


def _maybe_fault(state: EmulatorState) -> None:
    status = state.pick_fault()
    if status is None:
        return
    state.stats.faults_served[str(status)] += 1
    retry = seconds_header(state.faults.retry_after)
    code, message = _FAULT_BODIES.get(status, ("ServiceError", "The service failed to answer."))
    headers = {"Retry-After": retry} if status in (429, 503) else {}
    raise ServiceError(status, code, message.format(retry=retry), headers=headers)
