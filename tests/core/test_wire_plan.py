"""core.contracts.wire works out a contract's conversion once per class, not on every call.

Every activity converts its request and result (``activities/boundary.py``): resolving type hints
and choosing each field's checks per call cost more than the conversion itself.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.contracts.wire import ContractError, NonEmptyStr, from_wire, to_wire


@dataclass(frozen=True)
class _Leaf:
    label: NonEmptyStr
    weight: float | None = None


@dataclass(frozen=True)
class _Tree:
    name: str
    children: list[_Tree] = field(default_factory=list)
    leaves: dict[str, _Leaf] = field(default_factory=dict)


@dataclass(frozen=True)
class _Counted:
    job_id: str
    size: int | None = None


def test_fields_and_type_hints_are_worked_out_once_per_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[Any] = []
    real_hints, real_fields = typing.get_type_hints, dataclasses.fields

    def counting_hints(obj: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        looked_up.append(("hints", obj))
        return real_hints(obj, *args, **kwargs)

    def counting_fields(obj: Any) -> tuple[dataclasses.Field[Any], ...]:
        looked_up.append(("fields", obj if isinstance(obj, type) else type(obj)))
        return real_fields(obj)

    monkeypatch.setattr(typing, "get_type_hints", counting_hints)
    monkeypatch.setattr(dataclasses, "fields", counting_fields)
    for size in (1, None, 3):
        value = _Counted(job_id="j", size=size)
        assert from_wire(_Counted, to_wire(value)) == value
    assert looked_up == [("hints", _Counted), ("fields", _Counted)]


def test_a_contract_may_nest_itself() -> None:
    tree = _Tree(
        name="root",
        children=[_Tree(name="a", leaves={"x": _Leaf(label="x", weight=2.0)}), _Tree(name="b")],
    )
    wire = to_wire(tree)
    assert wire == {
        "name": "root",
        "children": [
            {"name": "a", "children": [], "leaves": {"x": {"label": "x", "weight": 2.0}}},
            {"name": "b", "children": [], "leaves": {}},
        ],
        "leaves": {},
    }
    assert from_wire(_Tree, wire) == tree


def test_nested_checks_still_name_the_field_on_every_call() -> None:
    bad = {"name": "root", "children": [{"name": "a", "leaves": {"x": {"label": ""}}}]}
    for _ in range(2):  # the second call runs on the cached plan
        with pytest.raises(ContractError, match=r"'children\[0\].leaves.x.label' must not be empty"):
            from_wire(_Tree, bad)
    with pytest.raises(ContractError, match=r"'children\[0\].leaves.x.weight' must be a number"):
        from_wire(
            _Tree, {"name": "r", "children": [{"name": "a", "leaves": {"x": {"label": "l", "weight": "1"}}}]}
        )
