"""devhost's exceptions, one small tree.

    DevHostError
    ├── AppLoadError        function_app.py, host.json or a settings file cannot be loaded
    └── ManagementError     a client request the real host refuses (carries its HTTP status)
        ├── InvalidInstanceIdError      400
        ├── UnknownOrchestratorError    400
        ├── InstanceExistsError         500, as the Durable extension answers it
        ├── InstanceNotFoundError       404
        └── InstanceGoneError           410 (the instance is no longer running)

Replay-level failures (non-determinism, unsupported actions) live in `devhost.durable.replay`: they fail
one orchestration instance, never the host.
"""

from __future__ import annotations


class DevHostError(Exception):
    """Base class of every error devhost raises on purpose."""


class AppLoadError(DevHostError):
    """The app cannot be loaded: the message names the file, setting or function at fault."""


class ManagementError(DevHostError):
    """A management request (start, raise event, terminate, ...) that the real host refuses."""

    status: int = 400
    exception_type: str = "System.ArgumentException"


class InvalidInstanceIdError(ManagementError):
    status = 400


class UnknownOrchestratorError(ManagementError):
    status = 400


class InstanceExistsError(ManagementError):
    # The Durable extension lets OrchestrationAlreadyExistsException reach its catch-all handler.
    status = 500
    exception_type = "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"


class InstanceNotFoundError(ManagementError):
    status = 404


class InstanceGoneError(ManagementError):
    status = 410


def missing_function_message(name: str, kind: str) -> str:
    """The Durable extension's message for an unknown function (`kind`: "orchestrator", "activity")."""
    article = "an" if kind[0] in "aeiou" else "a"
    return f"The function '{name}' doesn't exist, is disabled, or is not {article} {kind} function."
