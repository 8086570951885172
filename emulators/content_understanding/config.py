"""The emulator's settings: fixed ones (key, seed) and faults that tests change at run time."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_KEY = "local-emulator-key"


@dataclass(frozen=True)
class Faults:
    """What the emulator does beyond answering correctly. Changed by flags or ``POST /_emulator/faults``."""

    analysis_seconds: float = 2.0  # wall-clock duration of every analysis and analyzer creation
    latency_ms: float = 0.0  # added to every API response
    rate_429: float = 0.0  # share of API requests answered 429 (before any processing)
    rate_5xx: float = 0.0  # share answered status_5xx (before any processing)
    status_5xx: int = 503
    retry_after: float = 1.0  # Retry-After on 429/503 faults and on polls of unfinished operations
    # Operations scoped by analyzer id or input name (the input's name, else its URL's file name):
    fail_analyzer_ids: frozenset[str] = field(default_factory=frozenset)  # analyses end Failed
    fail_input_names: frozenset[str] = field(default_factory=frozenset)
    hang_analyzer_ids: frozenset[str] = field(default_factory=frozenset)  # analyses never end
    hang_input_names: frozenset[str] = field(default_factory=frozenset)
    fail_create_analyzer_ids: frozenset[str] = field(default_factory=frozenset)  # creations end Failed


def _rate(value: Any) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError("must be between 0 and 1")
    return rate


def _non_negative(value: Any) -> float:
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ValueError("must be a number >= 0")
    return number


def _status_5xx(value: Any) -> int:
    status = int(value)
    if not 500 <= status <= 599:
        raise ValueError("must be a 5xx status")
    return status


def _names(value: Any) -> frozenset[str]:
    if not isinstance(value, list | tuple | set | frozenset) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of strings")
    return frozenset(value)


# JSON name (POST /_emulator/faults) -> (field name, converter).
_FAULT_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "analysisSeconds": ("analysis_seconds", _non_negative),
    "latencyMs": ("latency_ms", _non_negative),
    "rate429": ("rate_429", _rate),
    "rate5xx": ("rate_5xx", _rate),
    "status5xx": ("status_5xx", _status_5xx),
    "retryAfter": ("retry_after", _non_negative),
    "failAnalyzerIds": ("fail_analyzer_ids", _names),
    "failInputNames": ("fail_input_names", _names),
    "hangAnalyzerIds": ("hang_analyzer_ids", _names),
    "hangInputNames": ("hang_input_names", _names),
    "failCreateAnalyzerIds": ("fail_create_analyzer_ids", _names),
}
_JSON_NAME = {field_name: json_name for json_name, (field_name, _) in _FAULT_FIELDS.items()}


def update_faults(faults: Faults, changes: Mapping[str, Any], *, json_names: bool) -> Faults:
    """``faults`` with ``changes`` applied (others unchanged); ``ValueError`` names a bad field."""
    converted: dict[str, Any] = {}
    for name, value in changes.items():
        json_name = name if json_names else _JSON_NAME.get(name, name)
        if json_name not in _FAULT_FIELDS:
            raise ValueError(f"unknown fault setting {name!r}; known: {', '.join(sorted(_FAULT_FIELDS))}")
        field_name, convert = _FAULT_FIELDS[json_name]
        try:
            converted[field_name] = convert(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"fault setting {name!r} {error}") from None
    return dataclasses.replace(faults, **converted)


def faults_to_json(faults: Faults) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for json_name, (field_name, _) in _FAULT_FIELDS.items():
        value = getattr(faults, field_name)
        body[json_name] = sorted(value) if isinstance(value, frozenset) else value
    return body


@dataclass(frozen=True)
class EmulatorConfig:
    key: str = DEFAULT_KEY
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None  # makes fault injection repeatable
    # The emulator fetches input URLs like the service does; by default only loopback ones, so
    # that nothing leaves the machine.
    allow_remote_urls: bool = False
    page_size: int = 20  # analyzers per page of GET /analyzers
    state_dir: str | None = None  # where analyzers and defaults are kept across restarts (else memory)
