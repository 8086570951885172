"""JSON from users, parsed within bounds: request bodies, the multipart ``request`` part, intake
manifests and analyzer definitions.

Python's ``json`` has no limits of its own: a document nested 10,000 levels deep raises
``RecursionError`` and an integer of 5,000 digits ``ValueError`` (the interpreter's guard against
quadratic conversions), neither of which is a ``JSONDecodeError``, so they escaped as 500s and
crashed the blob trigger on every retry. Here the nesting is measured before parsing, numbers are
bounded while parsing (length, and finite), and every problem is an ``InputError`` (``InvalidJson``, or
``RequestTooLarge``) naming what was wrong. Nothing the app accepts comes near these bounds: its
deepest documents (analyzer field schemas) nest a dozen levels, its numbers are small counts.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from core.errors import InputError

MAX_DEPTH = 64
MAX_NUMBER_LENGTH = 40  # characters of one JSON number, sign, fraction and exponent included

# A JSON string (escapes included; an unterminated one runs to the end, so that the scan stays
# linear), or a bracket: brackets inside strings are text.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def parse_json(raw: bytes, what: str, *, max_bytes: int) -> Any:
    """``raw`` (UTF-8 JSON of at most ``max_bytes``) as a value, or ``InputError`` naming ``what``."""
    if len(raw) > max_bytes:
        raise InputError(f"{what} is over {max_bytes} bytes", code="RequestTooLarge")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what} is not valid JSON: it is not UTF-8", code="InvalidJson") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise InputError(f"{what} is nested deeper than {MAX_DEPTH} levels", code="InvalidJson")
    try:
        return json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise InputError(f"{what} is not valid JSON: {error}", code="InvalidJson") from None
    except _BadNumber as error:
        raise InputError(f"{what} has {error}", code="InvalidJson") from None


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (an estimate for invalid JSON)."""
    depth = deepest = 0
    for token in _TOKENS.findall(text):
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


class _BadNumber(ValueError):
    pass


def _bounded(literal: str) -> str:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise _BadNumber(f"a number of {len(literal)} characters (at most {MAX_NUMBER_LENGTH})")
    return literal


def _integer(literal: str) -> int:
    return int(_bounded(literal))


def _float(literal: str) -> float:
    value = float(_bounded(literal))
    if not math.isfinite(value):  # 1e999: JSON has no infinity to write it back as
        raise _BadNumber(f"a number out of range ({literal})")
    return value


def _constant(literal: str) -> Any:
    # NaN, Infinity and -Infinity: Python accepts them, JSON (RFC 8259) does not.
    raise json.JSONDecodeError(f"{literal} is not a JSON value", literal, 0)
