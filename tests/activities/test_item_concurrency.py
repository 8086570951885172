"""One begin or poll call runs its items a few at a time (real asyncio tasks, counted)."""

from __future__ import annotations

from activities import batch_steps
from tests.support.gauge import Gauge


async def test_a_calls_items_run_a_few_at_a_time_and_each_keeps_its_own_outcome() -> None:
    gauge = Gauge()

    async def work(index: int) -> int:
        await gauge.hold()
        if index == 7:
            raise ValueError("seven")
        return index

    outcomes = await batch_steps._each(50, work)

    assert gauge.most == batch_steps.ITEM_CONCURRENCY
    assert [o for o in outcomes if not isinstance(o, BaseException)] == [n for n in range(50) if n != 7]
    assert isinstance(outcomes[7], ValueError)
