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
from collections.abc import Callable, Mapping
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
    for field in _plan(type(contract)):
        value = getattr(contract, field.name)
        if value is None and field.omitted_when_none:
            continue
        wire[field.wire] = _encode(value)
    return wire


def from_wire(contract_type: type[_C], data: Any, *, where: str = "") -> _C:
    """``data`` (a JSON object) as ``contract_type``; ``ContractError`` if it does not fit."""
    if not isinstance(data, Mapping):
        raise ContractError(f"{where or 'the payload'} must be a JSON object")
    values: dict[str, Any] = {}
    for field in _plan(typing.cast(Any, contract_type)):  # a class: hashable, whatever mypy infers
        key = field.wire
        if key not in data:
            if field.required:
                raise ContractError(f"'{where}.{key}' is missing" if where else f"'{key}' is missing")
            continue
        values[field.name] = field.decode(data[key], f"{where}.{key}" if where else key)
    return contract_type(**values)


_Decoder = Callable[[Any, str], Any]


@dataclasses.dataclass(frozen=True)
class _Field:
    """How one field of a contract travels: worked out once per class (``_plan``), not per call."""

    name: str
    wire: str
    required: bool  # no default: a payload without it does not fit
    omitted_when_none: bool  # an optional field (default None) that is None is left out
    decode: _Decoder


@functools.cache
def _plan(contract_type: Any) -> tuple[_Field, ...]:
    """The fields of ``contract_type``, their wire names and decoders (type hints resolved once)."""
    hints = typing.get_type_hints(contract_type, include_extras=True)
    return tuple(
        _Field(
            name=field.name,
            wire=_wire_name(field),
            required=field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING,
            omitted_when_none=field.default is None,
            decode=_decoder(hints[field.name]),
        )
        for field in dataclasses.fields(contract_type)
    )


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_wire(value)
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


def _decoder(hint: Any) -> _Decoder:
    """A function checking and converting a JSON value to ``hint``, chosen once per hint."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return _as_is
    if origin is Annotated:
        return _annotated(_decoder(args[0]), non_empty=any(isinstance(mark, _NonEmpty) for mark in args[1:]))
    if origin in (Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        if len(options) != 1:
            raise TypeError(f"unsupported union {hint!r} in a contract")
        return _optional(_decoder(options[0]), none_allowed=type(None) in args)
    if origin is Literal:
        return _literal(args)
    if origin is list:
        return _list_of(_decoder(args[0]))
    if origin is dict:
        return _dict_of(_decoder(args[1]))
    if dataclasses.is_dataclass(hint):
        return _contract(typing.cast(type, hint))
    if typing.is_typeddict(hint):
        return _typed_dict(frozenset(hint.__required_keys__))
    simple = _SIMPLE.get(hint)
    if simple is None:
        raise TypeError(f"unsupported type {hint!r} in a contract")
    return simple


def _as_is(value: Any, path: str) -> Any:
    return value


def _annotated(inner: _Decoder, *, non_empty: bool) -> _Decoder:
    def decode(value: Any, path: str) -> Any:
        decoded = inner(value, path)
        if non_empty and decoded == "":
            raise ContractError(f"'{path}' must not be empty")
        return decoded

    return decode


def _optional(inner: _Decoder, *, none_allowed: bool) -> _Decoder:
    def decode(value: Any, path: str) -> Any:
        if value is None and none_allowed:
            return None
        return inner(value, path)

    return decode


def _literal(allowed: tuple[Any, ...]) -> _Decoder:
    def decode(value: Any, path: str) -> Any:
        if value not in allowed:
            raise ContractError(f"'{path}' must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        return value

    return decode


def _list_of(item: _Decoder) -> _Decoder:
    def decode(value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise ContractError(f"'{path}' must be a list")
        return [item(entry, f"{path}[{i}]") for i, entry in enumerate(value)]

    return decode


def _dict_of(item: _Decoder) -> _Decoder:
    def decode(value: Any, path: str) -> Any:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise ContractError(f"'{path}' must be a JSON object")
        return {key: item(entry, f"{path}.{key}") for key, entry in value.items()}

    return decode


def _contract(contract_type: type) -> _Decoder:
    # Looked up at call time: a contract may name one declared after it (or itself).
    def decode(value: Any, path: str) -> Any:
        return from_wire(contract_type, value, where=path)

    return decode


def _typed_dict(required: frozenset[str]) -> _Decoder:
    def decode(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise ContractError(f"'{path}' must be a JSON object")
        missing = sorted(required - set(value))
        if missing:
            raise ContractError(f"'{path}' lacks {', '.join(repr(key) for key in missing)}")
        return dict(value)

    return decode


def _bool(value: Any, path: str) -> Any:
    if not isinstance(value, bool):
        raise ContractError(f"'{path}' must be true or false")
    return value


def _int(value: Any, path: str) -> Any:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ContractError(f"'{path}' must be an integer")
    return value


def _float(value: Any, path: str) -> Any:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ContractError(f"'{path}' must be a number")
    return float(value)


def _str(value: Any, path: str) -> Any:
    if not isinstance(value, str):
        raise ContractError(f"'{path}' must be a string")
    return value


_SIMPLE: dict[Any, _Decoder] = {bool: _bool, int: _int, float: _float, str: _str}


def _wire_name(field: dataclasses.Field[Any]) -> str:
    named = field.metadata.get("wire")
    if named is not None:
        return str(named)
    first, *rest = field.name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)
