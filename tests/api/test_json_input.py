"""JSON from users within bounds: depth and numbers are refused as input errors, never crashes."""

from __future__ import annotations

import time

import pytest

from api.json_input import MAX_DEPTH, nesting_depth, parse_json
from core.errors import InputError


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper than 64 levels"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "nested deeper than 64 levels"),
        (b"7" * 5000, "a number of 5000 characters"),
        (b"-0." + b"1" * 100, "a number of 103 characters"),
        (b"1e999", "out of range"),
        (b"-1e400", "out of range"),
        (b"NaN", "NaN is not a JSON value"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON value"),
        (b"\xff{}", "not UTF-8"),
        (b'{"a": ', "not valid JSON"),
    ],
)
def test_unbounded_json_is_an_input_error(raw: bytes, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_json(raw, "The body", max_bytes=10**6)
    assert caught.value.code == "InvalidJson"
    assert fragment in caught.value.message


def test_too_many_bytes_is_request_too_large() -> None:
    with pytest.raises(InputError) as caught:
        parse_json(b"[" + b"1," * 100 + b"1]", "The body", max_bytes=100)
    assert caught.value.code == "RequestTooLarge"


def test_json_within_the_bounds_parses_as_usual() -> None:
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # inside the outer object: MAX_DEPTH in all
    raw = f'{{"text": "[[[{{{{ \\" ]]", "n": -12.5e3, "big": {"9" * 40}, "deep": {deep}}}'.encode()
    value = parse_json(raw, "The body", max_bytes=10**6)
    assert value["text"] == '[[[{{ " ]]'
    assert value["n"] == -12500.0
    assert value["big"] == int("9" * 40)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('[{"a": [1]}]', 3),
        ('["[[[["]', 1),
        ('"\\\\"[', 1),
        ('["\\"]"]', 1),
        ('"unterminated [[', 0),
    ],
)
def test_nesting_ignores_brackets_inside_strings(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_measuring_depth_stays_linear_on_hostile_strings() -> None:
    # Escaped quotes that never close: a scan that retried from every quote would take minutes on
    # 256 KB (about 10^10 steps); the linear one takes milliseconds. The bound is a DoS guard with a
    # wide margin, not a speed target.
    started = time.perf_counter()
    nesting_depth('"' + '\\"' * 128_000)
    nesting_depth('"\\"' * 85_000)
    assert time.perf_counter() - started < 10.0
