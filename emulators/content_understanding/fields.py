"""Deterministic field filling: a field takes the value of a ``Label: value`` line in the text.

A field's labels are its name (``invoiceTotal``), its name's words (``invoice total``) and its
description, compared case-insensitively. The first matching line wins; its value is converted
by the field's type, and a value that does not convert leaves the field empty (just ``type``),
as the service leaves a field it cannot fill.

Where the analyzer asks for it (``config.estimateFieldSourceAndConfidence``, or a field's own
``estimateSourceAndConfidence``, which wins), a filled value also gets ``confidence`` (0.95 when
the label is the field's name, 0.9 its name's words, 0.8 its description) and ``source``,
``D(page,x1,y1,x2,y2,x3,y3,x4,y4)`` in inches: the page is the real one, the polygon is made up
from the line and column of the value (there is no layout engine), so only its shape is Azure's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

_LABEL_LINE = re.compile(
    r"^[ \t>*_#-]*(?P<label>[^:\n]{1,120}?)[ \t*_]*:[ \t*_]*(?P<value>[^\n]*?)[ \t]*$", re.M
)
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\-.]+")
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
)
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M %p", "%I:%M:%S %p")
_TRUE = {"yes", "true", "y", "1", "checked", "x"}
_FALSE = {"no", "false", "n", "0", "unchecked"}


def _normalise(label: str) -> str:
    return " ".join(label.replace("*", " ").replace("`", " ").lower().split())


def _labels(name: str, definition: dict[str, Any]) -> list[str]:
    labels = [name, " ".join(_WORD_BOUNDARY.split(name))]
    description = definition.get("description")
    if isinstance(description, str) and description.strip():
        labels.append(description.strip().rstrip("."))
    return [_normalise(label) for label in labels]


_CONFIDENCE = (0.95, 0.9, 0.8)  # matched by the field's name, its name's words, its description
_INCH_PER_LINE, _INCH_PER_CHAR, _MARGIN = 0.25, 0.1, 1.0


class LabelIndex:
    """Every ``Label: value`` line of a markdown text: normalised label -> (value, offset)."""

    def __init__(self, markdown: str, page_starts: list[int] | None = None) -> None:
        self.markdown = markdown
        self.page_starts = page_starts or [0]
        self.values: dict[str, tuple[str, int]] = {}
        for match in _LABEL_LINE.finditer(markdown):
            label, value = _normalise(match.group("label")), match.group("value")
            if value and label not in self.values:  # the first line with a label wins
                self.values[label] = (value, match.start("value"))

    def find(self, name: str, definition: dict[str, Any]) -> tuple[str, int, float] | None:
        """The value, its offset and the confidence of the match."""
        for label, confidence in zip(_labels(name, definition), _CONFIDENCE, strict=False):
            if label in self.values:
                return (*self.values[label], confidence)
        return None

    def source(self, offset: int, length: int) -> str:
        """``D(page, polygon)`` of the text at ``offset``: its page, and a box from line and column."""
        page = max(number for number, start in enumerate(self.page_starts, start=1) if start <= offset)
        page_start = self.page_starts[page - 1]
        line = self.markdown.count("\n", page_start, offset)
        column = offset - (self.markdown.rfind("\n", page_start, offset) + 1 if line else page_start)
        x1 = round(_MARGIN + column * _INCH_PER_CHAR, 4)
        x2 = round(x1 + length * _INCH_PER_CHAR, 4)
        y1 = round(_MARGIN + line * _INCH_PER_LINE, 4)
        y2 = round(y1 + _INCH_PER_LINE * 0.8, 4)
        return f"D({page},{x1:g},{y1:g},{x2:g},{y1:g},{x2:g},{y2:g},{x1:g},{y2:g})"


def fill_fields(
    field_schema: dict[str, Any],
    markdown: str,
    *,
    estimate: bool = False,
    page_starts: list[int] | None = None,
) -> dict[str, Any]:
    """``contents[].fields`` for ``field_schema`` over ``markdown``; ``estimate`` is the analyzer's
    ``estimateFieldSourceAndConfidence``; ``page_starts`` the offset where each page begins."""
    index = LabelIndex(markdown, page_starts)
    definitions = field_schema.get("definitions", {})
    return {
        name: _fill(name, _resolve(definition, definitions), index, definitions, estimate)
        for name, definition in field_schema.get("fields", {}).items()
    }


def _resolve(definition: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    reference = definition.get("$ref")
    if isinstance(reference, str):  # "#/$defs/Name" in the samples, "#/definitions/Name" also seen
        target = definitions.get(reference.rpartition("/")[2])
        if isinstance(target, dict):
            return {**target, **{k: v for k, v in definition.items() if k != "$ref"}}
    return definition


def _fill(
    name: str, definition: dict[str, Any], index: LabelIndex, definitions: dict[str, Any], estimate: bool
) -> dict[str, Any]:
    field_type = str(definition.get("type", "string"))
    estimate = bool(definition.get("estimateSourceAndConfidence", estimate))
    if field_type == "object":
        properties = definition.get("properties", {})
        values = {
            key: _fill(key, _resolve(sub, definitions), index, definitions, estimate)
            for key, sub in properties.items()
        }
        return {"type": "object", "valueObject": values}
    found = index.find(name, definition)
    if found is None:
        return {"type": field_type}
    text, offset, confidence = found
    if field_type == "array":
        return _fill_array(definition, text, offset, definitions, index if estimate else None, confidence)
    value = _convert(field_type, text, definition)
    if value is None:
        return {"type": field_type}
    field: dict[str, Any] = {"type": field_type, _VALUE_KEYS[field_type]: value}
    field["spans"] = [{"offset": offset, "length": len(text)}]
    if estimate:
        field["confidence"] = confidence
        field["source"] = index.source(offset, len(text))
    return field


def _fill_array(
    definition: dict[str, Any],
    text: str,
    offset: int,
    definitions: dict[str, Any],
    estimating: LabelIndex | None,
    confidence: float,
) -> dict[str, Any]:
    """``Label: a; b; c`` gives three items of the array's item type."""
    items = _resolve(definition.get("items", {"type": "string"}), definitions)
    item_type = str(items.get("type", "string"))
    values: list[dict[str, Any]] = []
    position = 0
    for part in text.split(";"):
        start = text.index(part, position)
        position = start + len(part)
        stripped = part.strip()
        value = _convert(item_type, stripped, items) if stripped and item_type in _VALUE_KEYS else None
        if value is not None:
            item: dict[str, Any] = {"type": item_type, _VALUE_KEYS[item_type]: value}
            item_offset = offset + start + (len(part) - len(part.lstrip()))
            item["spans"] = [{"offset": item_offset, "length": len(stripped)}]
            if estimating is not None:
                item["confidence"] = confidence
                item["source"] = estimating.source(item_offset, len(stripped))
            values.append(item)
    return {"type": "array", "valueArray": values}


def _string(text: str, definition: dict[str, Any]) -> str | None:
    choices = definition.get("enum")
    if not choices:
        return text
    return next((choice for choice in choices if choice.lower() == text.lower()), None)  # classify


def _number(text: str) -> float | None:
    cleaned = re.sub(r"[^\d.\-]", "", text.replace(",", ""))
    try:
        return float(cleaned)
    except ValueError:
        return None


def _integer(text: str) -> int | None:
    number = _number(text)
    return int(number) if number is not None and number.is_integer() else None


def _parse(text: str, formats: tuple[str, ...], output: str) -> str | None:
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).strftime(output)
        except ValueError:
            continue
    return None


def _boolean(text: str) -> bool | None:
    lowered = text.strip().lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


_VALUE_KEYS = {
    "string": "valueString", "number": "valueNumber", "integer": "valueInteger", "date": "valueDate",
    "time": "valueTime", "boolean": "valueBoolean", "json": "valueJson",
}  # fmt: skip
_CONVERTERS: dict[str, Callable[[str, dict[str, Any]], Any]] = {
    "string": _string,
    "number": lambda text, _: _number(text),
    "integer": lambda text, _: _integer(text),
    "date": lambda text, _: _parse(text, _DATE_FORMATS, "%Y-%m-%d"),
    "time": lambda text, _: _parse(text.upper(), _TIME_FORMATS, "%H:%M:%S"),
    "boolean": lambda text, _: _boolean(text),
    "json": lambda text, _: _json(text),
}


def _convert(field_type: str, text: str, definition: dict[str, Any]) -> Any:
    converter = _CONVERTERS.get(field_type)
    return converter(text, definition) if converter else None
