"""The service's error shape: ``{"error": {"code", "message", "target"?, "innererror"?}}``."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class ServiceError(Exception):
    """A request the service refuses; becomes an error response with ``x-ms-error-code``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        inner_code: str | None = None,
        inner_message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.inner_code = inner_code
        self.inner_message = inner_message
        self.headers = headers or {}

    def error_body(self) -> dict[str, Any]:
        """The ``error`` object, also used for a failed operation's ``error``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            body["target"] = self.target
        if self.inner_code:
            body["innererror"] = {"code": self.inner_code}
            if self.inner_message:
                body["innererror"]["message"] = self.inner_message
        return body

    def response(self) -> web.Response:
        return web.json_response(
            {"error": self.error_body()},
            status=self.status,
            headers={"x-ms-error-code": self.code, **self.headers},
        )


def invalid(message: str, *, target: str | None = None, inner_code: str | None = None) -> ServiceError:
    """``400 InvalidRequest``: the outer code the service uses for a malformed request."""
    return ServiceError(400, "InvalidRequest", message, target=target, inner_code=inner_code)


def not_found(message: str) -> ServiceError:
    return ServiceError(404, "NotFound", message)


GENERIC_MESSAGE = "Invalid Request."


class OperationFailure(Exception):
    """Ends a long-running operation as ``Failed`` (not an HTTP error), in Azure's shape: a generic
    outer error and the detail inside, ``{"code": "InvalidRequest", "message": "Invalid Request.",
    "innererror": {"code": "ContentSourceNotAccessible", "message": "..."}}`` (reported from a live
    service in Azure/azure-sdk-for-net#56192). Where no operation exists (inline analysis) the same
    failure is an HTTP 400 with that body: ``as_http_error``."""

    def __init__(self, inner_code: str, detail: str) -> None:
        super().__init__(detail)
        self.inner_code = inner_code
        self.detail = detail
        self.error = self.as_http_error().error_body()

    def as_http_error(self) -> ServiceError:
        return ServiceError(
            400, "InvalidRequest", GENERIC_MESSAGE, inner_code=self.inner_code, inner_message=self.detail
        )


INTERNAL_ERROR = {"code": "InternalServerError", "message": "An unexpected error occurred."}
