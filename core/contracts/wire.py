"""Contract objects to and from the plain JSON that travels through orchestration history.

A contract is a frozen dataclass whose fields are JSON-shaped: ``str``, ``int``, ``float``,
``bool``, ``None`` unions, ``list[...]``, ``dict[str, ...]``, ``Literal[...]``, another contract,
or a TypedDict from ``core`` (kept as the plain dict it already is). On the wire a field is the
camelCase of its name (``job_id`` -> ``jobId``) unless ``field(metadata={"wire": ...})`` names it;
an optional field (default ``None``) that is ``None`` is left out. History only ever holds plain JSON
objects, never module paths, so a renamed class cannot break a running orchestration.

``from_wire`` checks as it converts and raises ``ContractError`` naming the first field that does
not fit; unknown keys are ignored (a newer writer may add some). A ``NonEmptyStr`` must not be ``""``.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

_C = TypeVar("_C")


class ContractError(ValueError):
    """A payload does not match its contract; the message names the field and what is wrong."""


class _NonEmpty:
    """Marks a ``str`` that must not be empty (ids, names, blob paths)."""


NonEmptyStr = Annotated[str, _NonEmpty()]


def to_wire(contract: Any) -> dict[str, Any]:
    """The JSON object for a contract dataclass."""
    if not dataclasses.is_dataclass(contract) or isinstance(contract, type):
        raise TypeError(f"{contract!r} is not a contract instance")
    wire: dict[str, Any] = {}
    for field in dataclasses.fields(contract):
        value = getattr(contract, field.name)
        if value is None and field.default is None:
            continue
        wire[_wire_name(field)] = _encode(value)
    return wire


def from_wire(contract_type: type[_C], data: Any, *, where: str = "") -> _C:
    """``data`` (a JSON object) as ``contract_type``; ``ContractError`` if it does not fit."""
    if not isinstance(data, Mapping):
        raise ContractError(f"{where or 'the payload'} must be a JSON object")
    hints = _hints(typing.cast(Any, contract_type))  # a class: hashable, whatever mypy infers
    values: dict[str, Any] = {}
    for field in dataclasses.fields(contract_type):  # type: ignore[arg-type]
        key = _wire_name(field)
        if key not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ContractError(f"'{where}.{key}' is missing" if where else f"'{key}' is missing")
            continue
        values[field.name] = _decode(hints[field.name], data[key], f"{where}.{key}" if where else key)
    return contract_type(**values)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_wire(value)
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


def _decode(hint: Any, value: Any, path: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin is Annotated:
        decoded = _decode(args[0], value, path)
        if any(isinstance(mark, _NonEmpty) for mark in args[1:]) and decoded == "":
            raise ContractError(f"'{path}' must not be empty")
        return decoded
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [arg for arg in args if arg is not type(None)]
        if len(options) == 1:
            return _decode(options[0], value, path)
        raise TypeError(f"unsupported union {hint!r} in a contract")
    if origin is Literal:
        if value not in args:
            raise ContractError(f"'{path}' must be one of {', '.join(map(repr, args))}, not {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ContractError(f"'{path}' must be a list")
        return [_decode(args[0], item, f"{path}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise ContractError(f"'{path}' must be a JSON object")
        return {key: _decode(args[1], item, f"{path}.{key}") for key, item in value.items()}
    if dataclasses.is_dataclass(hint):
        return from_wire(typing.cast(type, hint), value, where=path)
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            raise ContractError(f"'{path}' must be a JSON object")
        missing = sorted(set(hint.__required_keys__) - set(value))
        if missing:
            raise ContractError(f"'{path}' lacks {', '.join(repr(key) for key in missing)}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ContractError(f"'{path}' must be true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ContractError(f"'{path}' must be an integer")
        return value
    if hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ContractError(f"'{path}' must be a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ContractError(f"'{path}' must be a string")
        return value
    raise TypeError(f"unsupported type {hint!r} in a contract")


def _wire_name(field: dataclasses.Field[Any]) -> str:
    named = field.metadata.get("wire")
    if named is not None:
        return str(named)
    first, *rest = field.name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


@functools.cache
def _hints(contract_type: Any) -> dict[str, Any]:
    return typing.get_type_hints(contract_type, include_extras=True)
