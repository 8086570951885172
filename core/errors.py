"""The application's exception tree.

Every error the services raise on purpose is an ``AppError``; the split that matters to the
orchestrator is whether trying again can help::

    AppError
    ├── TransientError        retrying may succeed (timeouts, connection errors, 408, 429, 5xx)
    └── PermanentError        retrying cannot help; the message says what to fix
        ├── SettingsError     an app setting is missing or malformed (names the setting)
        └── InputError        a user-supplied input is unusable (names the input)

Activities raise ``TransientError`` so that ``call_activity_with_retry`` (the host) retries them,
and report ``PermanentError`` as data (see ``error_info``), because Python's ``RetryOptions``
cannot tell the two apart and would otherwise retry a hopeless call.
Messages must never contain secrets: callers redact SAS query strings and keys first.
"""

# No ``from __future__ import annotations`` here: under it, Python 3.11's TypedDict counts a
# ``NotRequired`` key as required (seen on 3.11.7), and contracts check required keys.
from typing import NotRequired, TypedDict


class AppError(Exception):
    """Base class of every deliberate error in this app.

    ``code`` is a short, stable, machine-readable identifier (``"InputTooLarge"``); the message
    is for people.
    """

    code: str = "AppError"
    transient: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class TransientError(AppError):
    """A failure that may go away if the same call is made again later."""

    code = "Transient"
    transient = True


class PermanentError(AppError):
    """A failure that the same call cannot fix."""

    code = "Permanent"


class SettingsError(PermanentError):
    """An app setting is missing or malformed. The message names the setting."""

    code = "InvalidSetting"

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"App setting {setting!r} {problem}")
        self.setting = setting


class InputError(PermanentError):
    """A user-supplied input (a file, a URL, a blob reference, a request field) is unusable."""

    code = "InvalidInput"

    def __init__(self, message: str, *, code: str | None = None, input_name: str | None = None) -> None:
        super().__init__(message, code=code)
        self.input_name = input_name


class InnerError(TypedDict):
    """The detail a service gave beneath its outer error (CU's ``innererror``)."""

    code: str
    message: str


class ErrorInfo(TypedDict):
    """A failure as data, the shape every summary, status and failure envelope uses."""

    code: str
    message: str
    transient: bool
    # Content Understanding answers a failed operation with a generic outer error ("Invalid
    # Request.") and the detail here; the message then repeats it, so that it reads on its own.
    innerError: NotRequired[InnerError]


def error_info(error: BaseException) -> ErrorInfo:
    """A small, JSON-serialisable description of ``error`` for history, status and summaries."""
    if isinstance(error, AppError):
        return {"code": error.code, "message": error.message, "transient": error.transient}
    return {"code": type(error).__name__, "message": str(error), "transient": False}
