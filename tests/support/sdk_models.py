"""A strict reading of a JSON answer against the official SDK's model classes.

The SDK (``azure-ai-contentunderstanding``) deserializes leniently: its models are mappings over
the raw JSON, so a missing required property or an invented one goes unnoticed until some caller
reads it. ``conformance_problems`` reads the JSON the way the models declare it: every property
must be one the model (or the subtype its discriminator names) declares, every required one must
be there, and every value must have the declared type, recursively. It uses only the standard
library and the model class handed to it, so the separate environment of the pre-release SDK can
use it too (``tests/emulators/sdk_preview_driver.py``).
"""

from __future__ import annotations

import datetime
import enum
import importlib
import types
import typing
from typing import Any

_NONE = type(None)


def conformance_problems(model: type, value: Any, where: str = "$") -> list[str]:
    """What in ``value`` (JSON) does not fit ``model`` (an SDK model class); empty if it fits."""
    if not isinstance(value, dict):
        return [f"{where}: expected an object for {model.__name__}, got {type(value).__name__}"]
    model = _subtype(model, value)
    fields = getattr(model, "_attr_to_rest_field", None)
    if fields is None:  # the class is built lazily: an instance computes it
        model(value)
        fields = model._attr_to_rest_field  # type: ignore[attr-defined]
    # The generated modules name their sibling models ``_models.X`` under TYPE_CHECKING only.
    models_package = importlib.import_module(model.__module__.rpartition(".")[0])
    hints = typing.get_type_hints(model, localns={"_models": models_package})
    by_rest_name = {field._rest_name: (attr, field) for attr, field in fields.items()}
    problems = [
        f"{where}.{name}: not a property of {model.__name__}" for name in value if name not in by_rest_name
    ]
    for rest_name, (attr, _) in by_rest_name.items():
        annotation = hints.get(attr, Any)
        if rest_name not in value:
            if not _optional(annotation):
                problems.append(f"{where}.{rest_name}: required by {model.__name__}, missing")
            continue
        problems += _check(annotation, value[rest_name], f"{where}.{rest_name}")
    return problems


def _subtype(model: type, value: dict[str, Any]) -> type:
    """The subclass a discriminated model's JSON names (``kind``, ``type``), as the SDK picks it."""
    mapping = getattr(model, "__mapping__", None)
    if not mapping:
        return model
    for field in getattr(model, "_attr_to_rest_field", {}).values() or model({})._attr_to_rest_field.values():
        if getattr(field, "_is_discriminator", False) and field._rest_name in value:
            chosen = mapping.get(value[field._rest_name])
            return _subtype(chosen, value) if chosen is not None and chosen is not model else model
    return model


def _optional(annotation: Any) -> bool:
    return _NONE in typing.get_args(annotation) or annotation is Any


def _check(annotation: Any, value: Any, where: str) -> list[str]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return []
    if origin in (typing.Union, types.UnionType):
        if value is None and _NONE in args:
            return []
        attempts = [_check(arg, value, where) for arg in args if arg is not _NONE]
        return [] if any(not attempt for attempt in attempts) else min(attempts, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: expected an array"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in _check(args[0], item, f"{where}[{index}]")
        ]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        return [problem for key, item in value.items() for problem in _check(args[1], item, f"{where}.{key}")]
    if isinstance(annotation, type):
        return _check_type(annotation, value, where)
    return [f"{where}: cannot check against {annotation!r}"]


def _error_problems(value: Any, where: str) -> list[str]:
    """azure-core's ``ODataV4Format``: ``{code, message, target?, details?, innererror?}``."""
    if not isinstance(value, dict):
        return [f"{where}: expected an error object"]
    problems = [
        f"{where}.{name}: expected a string"
        for name in ("code", "message")
        if not isinstance(value.get(name), str)
    ]
    problems += [
        f"{where}.{name}: unexpected"
        for name in value
        if name not in ("code", "message", "target", "details", "innererror")
    ]
    inner = value.get("innererror", {})
    if not isinstance(inner, dict) or not all(isinstance(inner.get(k, ""), str) for k in ("code", "message")):
        problems.append(f"{where}.innererror: expected {{code?, message?}}")
    return problems


def _check_type(annotation: type, value: Any, where: str) -> list[str]:
    if annotation.__name__ == "ODataV4Format":
        return _error_problems(value, where)
    if getattr(annotation, "_is_model", False):
        return conformance_problems(annotation, value, where)
    if issubclass(annotation, enum.Enum):
        known = {member.value for member in annotation}
        return [] if value in known else [f"{where}: {value!r} is not one of {sorted(known)}"]
    if annotation is datetime.datetime:
        try:
            datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {value!r} is not an RFC 3339 date-time"]
        return []
    if annotation is bool:
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {value!r}"]
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {value!r}"]
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected an integer, got {value!r}"]
    if annotation is str:
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {value!r}"]
    return [] if isinstance(value, annotation) else [f"{where}: expected {annotation.__name__}"]


def answer_problems(models: Any, method: str, path: str, status: int, body: Any) -> list[str]:
    """Read one answer of the CU API (``path`` below ``/contentunderstanding``) against the model
    the SDK deserializes it into; ``models`` is the SDK's ``azure.ai.contentunderstanding.models``."""
    where = f"{method} {path} {status}"
    if status >= 400:
        if not isinstance(body, dict) or set(body) != {"error"}:
            return [f"{where}: expected {{'error': ...}}, got {body!r}"]
        return _error_problems(body["error"], f"{where} $.error")
    if status == 204:
        return [] if body is None else [f"{where}: a 204 has no body"]
    segments = path.strip("/").split("/")
    if segments[0] == "defaults":
        model = models.ContentUnderstandingDefaults
    elif segments == ["analyzers"]:
        problems = [f"{where} $.{key}: unexpected" for key in body if key not in ("value", "nextLink")]
        for index, item in enumerate(body.get("value", [])):
            problems += conformance_problems(models.ContentAnalyzer, item, f"{where} $.value[{index}]")
        return problems
    elif segments[0] == "analyzerResults" or path.endswith((":analyze", ":analyzeBinary")):
        model = models.ContentAnalyzerAnalyzeOperationStatus
    elif path.endswith("Inline"):
        model = models.ContentAnalyzerInlineResponse
    elif len(segments) == 4 and segments[2] == "operations":
        model = models.ContentAnalyzerOperationStatus
    else:
        model = models.ContentAnalyzer
    return conformance_problems(model, body, f"{where} $")
