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
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.inner_code = inner_code
        self.headers = headers or {}

    def error_body(self) -> dict[str, Any]:
        """The ``error`` object, also used for a failed operation's ``error``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            body["target"] = self.target
        if self.inner_code:
            body["innererror"] = {"code": self.inner_code}
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


class OperationFailure(Exception):
    """Ends a long-running operation as ``Failed`` with this error (not an HTTP error)."""

    def __init__(self, code: str, message: str, *, inner_code: str | None = None) -> None:
        super().__init__(message)
        self.error = ServiceError(0, code, message, inner_code=inner_code).error_body()


INTERNAL_ERROR = {"code": "InternalServerError", "message": "An unexpected error occurred."}
