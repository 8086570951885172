"""The CU pacer's rules (core/pacing.py): slots per second within the quota, fair shares between
jobs, deferrals, pages, and 429s slowing everyone down."""

from __future__ import annotations

import itertools

import pytest

from core.pacing import (
    INLINE_WAIT_SECONDS,
    PacingLimits,
    charge_pages,
    empty_ledger,
    note_throttled,
    reserve,
)

S0 = PacingLimits(operations_per_minute=3000, pages_per_minute=1000)
SMALL = PacingLimits(operations_per_minute=1200, pages_per_minute=60000)  # 95 %: 19 a second


def test_calls_within_the_quota_go_now() -> None:
    ledger = empty_ledger()
    reservation = reserve(ledger, 100.2, "job-a", 5, [0] * 5, SMALL)
    assert reservation.send_at == [100.2] * 5
    assert reservation.retry_at is None


def test_no_second_holds_more_than_its_share_of_the_quota() -> None:
    ledger = empty_ledger()
    reservation = reserve(ledger, 100.0, "job-a", 60, [0] * 60, SMALL)
    # 95 % of 20 a second: 19 a second, for the inline horizon (this second and the next two).
    per_second = {second: reservation.send_at.count(second) for second in set(reservation.send_at)}
    assert per_second == {100.0: 19, 101.0: 19, 102.0: 19}
    assert reservation.deferred
    assert reservation.retry_at is not None
    assert reservation.retry_at >= 100.0 + INLINE_WAIT_SECONDS


def test_a_minute_of_reservations_stays_under_the_quota() -> None:
    ledger = empty_ledger()
    sent: list[float] = []
    now = 1000.0
    while now < 1060.0:
        reservation = reserve(ledger, now, "job-a", 50, [0] * 50, SMALL)
        sent += reservation.send_at
        now = reservation.retry_at if reservation.retry_at is not None else now + 0.1
    in_a_minute = [moment for moment in sent if 1000.0 <= moment < 1060.0]
    assert len(in_a_minute) == 1200 * 0.95  # the quota less the margin, and all of it


def test_a_small_quota_is_spread_over_the_minute() -> None:
    slow = PacingLimits(operations_per_minute=20, pages_per_minute=1000)  # one call every ~3.2 s
    ledger = empty_ledger()
    sent: list[float] = []
    now = 0.0
    while now < 60.0:
        reservation = reserve(ledger, now, "job", 5, [0] * 5, slow)
        sent += reservation.send_at
        now = reservation.retry_at if reservation.retry_at is not None else now + 1.0
    assert len([moment for moment in sent if moment < 60.0]) == 19
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 3.0


def test_concurrent_jobs_share_each_second_fairly() -> None:
    ledger = empty_ledger()
    big = reserve(ledger, 100.0, "big", 15, [0] * 15, SMALL)  # a big job starts alone
    small = reserve(ledger, 100.1, "small", 19, [0] * 19, SMALL)  # a second job arrives
    more = reserve(ledger, 100.2, "big", 60, [0] * 60, SMALL)

    assert big.send_at == [100.0] * 15
    # Two jobs now: at most 10 of each second's 19 for each, so the small one is not held off.
    assert small.send_at.count(100.1) == 4  # what the big one left of this second
    assert small.send_at.count(101.0) == 10  # its share of the next
    assert more.send_at.count(101.0) == 9  # what the small one left of that second
    assert more.send_at.count(102.0) == 10  # its share of a second both jobs want
    assert more.deferred


def test_analyses_wait_for_page_room_and_polls_do_not() -> None:
    pages = PacingLimits(operations_per_minute=6000, pages_per_minute=600)  # 9.5 pages a second
    ledger = empty_ledger()
    first = reserve(ledger, 100.0, "job", 1, [30], pages)  # 30 pages: this second and the next 3
    analysis = reserve(ledger, 100.0, "job", 1, [1], pages)
    poll = reserve(ledger, 100.0, "job", 1, [0], pages)
    assert first.send_at == [100.0]
    assert analysis.send_at == [] and analysis.deferred  # noqa: PT018 - one fact
    assert poll.send_at == [100.0]


def test_pages_counted_later_use_up_room() -> None:
    pages = PacingLimits(operations_per_minute=6000, pages_per_minute=600)
    ledger = empty_ledger()
    charge_pages(ledger, 100.0, 20, pages)  # 9.5 pages a second: seconds 100 and 101, and part of 102
    assert reserve(ledger, 100.0, "job", 1, [1], pages).send_at == [102.0]
    charge_pages(ledger, 100.0, 40, pages)
    assert reserve(ledger, 100.0, "job", 1, [1], pages).deferred


def test_a_429_stops_everyone_until_its_retry_after_and_slows_the_pace() -> None:
    ledger = empty_ledger()
    note_throttled(ledger, 100.0, 2.0)
    reservation = reserve(ledger, 100.5, "job", 20, [0] * 20, SMALL)
    assert min(reservation.send_at) == 102.0
    # The pace dropped by 30 %: 13 a second instead of 19.
    assert reservation.send_at.count(102.0) == 13
    assert ledger["throttled"] == 1
    recovered = empty_ledger() | {"factor": ledger["factor"], "factorAt": 100.0}
    later = reserve(recovered, 700.0, "j", 20, [0] * 20, SMALL)
    assert later.send_at.count(700.0) == 19  # ten minutes without a 429: back to full pace


def test_pacing_off() -> None:
    off = PacingLimits(operations_per_minute=0, pages_per_minute=0)
    assert reserve(empty_ledger(), 5.0, "job", 3, [1, 1, 1], off).send_at == [5.0] * 3


@pytest.mark.parametrize("count", [0, -1])
def test_nothing_to_reserve(count: int) -> None:
    assert reserve(empty_ledger(), 5.0, "job", count, [], S0).send_at == []
