"""Load an app's `function_app.py` and index its functions as the Python worker does.

The module is executed from its file as a fresh module object (with the app directory first on
`sys.path`, so `import triggers.http_api` finds the app's packages). A fresh module means a fresh
`FunctionApp`, whose `get_functions()` may be called once (azure-functions 1.26 allows only one
call per app object), even when the test process imported and indexed the same file before.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import itertools
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from devhost.errors import AppLoadError

log = logging.getLogger("devhost")

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
HTTP_TRIGGER = "httpTrigger"
BLOB_TRIGGER = "blobTrigger"
TIMER_TRIGGER = "timerTrigger"
DURABLE_CLIENT = "durableClient"
SUPPORTED_TRIGGERS = (ORCHESTRATION_TRIGGER, ACTIVITY_TRIGGER, HTTP_TRIGGER, BLOB_TRIGGER, TIMER_TRIGGER)

_load_counter = itertools.count(1)


@dataclass(frozen=True)
class FunctionInfo:
    """One indexed function: its trigger, its bindings, and the callable the worker would call."""

    name: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    user_function: Callable[..., Any]
    parameters: tuple[str, ...] = field(default=())

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])

    @functools.cached_property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    @functools.cached_property
    def client_bindings(self) -> list[dict[str, Any]]:
        return [binding for binding in self.bindings if binding["type"] == DURABLE_CLIENT]


@dataclass
class LoadedApp:
    module: ModuleType
    functions: dict[str, FunctionInfo]  # by name
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why devhost cannot run it

    def by_trigger(self, trigger_type: str) -> list[FunctionInfo]:
        return [f for f in self.functions.values() if f.trigger_type == trigger_type]

    def find(self, trigger_type: str, name: str) -> FunctionInfo | None:
        """Look a durable function up by name, ignoring case as the Durable extension does."""
        exact = self.functions.get(name)
        if exact is not None and exact.trigger_type == trigger_type:
            return exact
        folded = name.casefold()
        for function in self.by_trigger(trigger_type):
            if function.name.casefold() == folded:
                return function
        return None


def load_app(app_dir: Path) -> LoadedApp:
    """Execute `app_dir/function_app.py` and index the functions of its FunctionApp."""
    path = app_dir.resolve() / "function_app.py"
    if not path.is_file():
        raise AppLoadError(f"no function_app.py in {app_dir}")
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    module_name = f"_devhost_app_{next(_load_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise AppLoadError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    app = _find_app(module, path)
    try:
        functions = app.get_functions()
    except Exception as exc:
        raise AppLoadError(f"indexing the functions of {path} failed: {exc}") from exc
    loaded = LoadedApp(module=module, functions={})
    for function in functions:
        _index(function, loaded)
    return loaded


def _find_app(module: ModuleType, path: Path) -> func.FunctionRegister:
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if len(apps) != 1:
        raise AppLoadError(f"{path} must define exactly one FunctionApp (found {len(apps)})")
    return apps[0]


def _index(function: func.Function, loaded: LoadedApp) -> None:
    name = str(function.get_function_name())
    bindings: list[dict[str, Any]] = json.loads(function.get_function_json())["bindings"]
    triggers = [b for b in bindings if b["type"].endswith("Trigger")]
    user_function = function.get_user_function()
    parameters = tuple(inspect.signature(user_function).parameters)
    problem = _unsupported(triggers, bindings)
    if problem:
        loaded.skipped[name] = problem
        log.warning("devhost skips function '%s': %s", name, problem)
        return
    loaded.functions[name] = FunctionInfo(name, triggers[0], bindings, user_function, parameters)


def _unsupported(triggers: list[dict[str, Any]], bindings: list[dict[str, Any]]) -> str | None:
    if len(triggers) != 1:
        return f"expected one trigger, found {len(triggers)}"
    if triggers[0]["type"] not in SUPPORTED_TRIGGERS:
        return f"devhost does not run '{triggers[0]['type']}' functions"
    for binding in bindings:
        if binding is triggers[0] or binding["type"] == DURABLE_CLIENT:
            continue
        if binding["type"] == "http" and binding["direction"] == "OUT":
            continue
        return f"devhost does not support '{binding['type']}' bindings ({binding['name']})"
    return None
