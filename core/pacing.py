"""Pacing against the CU resource's quotas: the ledger's rules, as pure functions over plain JSON.

A Content Understanding resource has per-minute quotas shared by everything that calls it (an S0
resource: 3,000 operations and 1,000 pages per minute, reference content-understanding-api.md
§ limits). Every job of the app, on every instance, takes its calls from one **ledger**: time cut
into one-second slots, each with room for ``operations_per_minute / 60`` operations (and as many
pages), of which the app uses ``margin`` (95 %). An activity about to call CU reserves a slot for
each call; calls that do not fit within ``INLINE_WAIT_SECONDS`` are not reserved at all: the
activity reports them deferred and the orchestration retries them after a durable timer.

- **Operations** are every request to the resource (start an analysis, poll one): the service's
  documentation does not say which requests count, so the pacer counts them all.
- **Pages** are charged when an analysis starts, one per document (its page count is not known
  yet); a finished analysis's real count is charged later (``extra_pages``). A slot's unused
  page room is used first, then the next slots' (a 300-page document uses up 18 s of an S0).
- **Fair share**: jobs that reserved within ``ACTIVE_SECONDS`` share each slot equally (a job may
  take at most its share of a slot's operations), so a thousand-document job cannot hold off a
  small one for longer than a slot or two.
- **429s slow everyone down**: a throttled answer (another client of the same resource, a lower
  quota than configured) stops every reservation until its ``Retry-After`` and cuts the rate by
  ``THROTTLED_FACTOR``; the rate comes back by ``RECOVERY_PER_MINUTE`` a minute.

The state lives in one blob (``storage/pacing.py``, written with ETag checks), so it survives
restarts and is shared by every instance when the app scales out. Nothing here does I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

INLINE_WAIT_SECONDS = 2.0  # how far ahead a call may be reserved (the activity waits that long)
ACTIVE_SECONDS = 5.0  # a job that reserved within this long takes part in the fair share
HORIZON_SLOTS = 120  # how far ahead ``retry_at`` looks for room
THROTTLED_FACTOR = 0.7
MIN_FACTOR = 0.2
RECOVERY_PER_MINUTE = 0.1
DEFAULT_MARGIN = 0.95


@dataclass(frozen=True)
class PacingLimits:
    """The resource's quotas (0 turns pacing off) and the part of them the app may use."""

    operations_per_minute: int
    pages_per_minute: int
    margin: float = DEFAULT_MARGIN

    @property
    def enabled(self) -> bool:
        return self.operations_per_minute > 0


@dataclass
class Reservation:
    """When to send each call that got a slot (epoch seconds), and when to ask again for the rest."""

    send_at: list[float] = field(default_factory=list)
    retry_at: float | None = None  # set when some calls were deferred

    @property
    def deferred(self) -> bool:
        return self.retry_at is not None


def empty_ledger() -> dict[str, Any]:
    return {"slots": {}, "jobs": {}, "slowUntil": 0.0, "factor": 1.0, "factorAt": 0.0, "throttled": 0}


def reserve(
    ledger: dict[str, Any],
    now: float,
    job_id: str,
    operations: int,
    pages: list[int],
    limits: PacingLimits,
) -> Reservation:
    """Reserve ``operations`` calls for ``job_id`` (``pages[i]`` pages for call ``i``, 0 for a poll).

    Updates ``ledger`` in place; calls that do not fit within ``INLINE_WAIT_SECONDS`` take nothing.
    """
    if not limits.enabled or operations <= 0:
        return Reservation(send_at=[now] * max(operations, 0))
    _forget_the_past(ledger, now)
    factor = _recovered_factor(ledger, now)
    rate = limits.operations_per_minute / 60 * limits.margin * factor  # calls per second
    page_room = max(1.0, limits.pages_per_minute / 60 * limits.margin * factor)
    jobs: dict[str, float] = ledger["jobs"]
    jobs[job_id] = now
    first = max(math.floor(now), math.ceil(ledger["slowUntil"]) if ledger["slowUntil"] > now else 0)
    last = math.floor(now + INLINE_WAIT_SECONDS)
    reservation = Reservation()
    slot = first
    for call in range(operations):
        needed = pages[call] if call < len(pages) else 0
        found = _room_for(ledger, range(slot, last + 1), job_id, rate, len(jobs), needed > 0)
        if found is None:
            later = range(max(first, last + 1), max(first, last + 1) + HORIZON_SLOTS)
            room = _room_for(ledger, later, job_id, rate, len(jobs), needed > 0)
            retry_at = float(later.stop if room is None else room) - INLINE_WAIT_SECONDS / 2
            reservation.retry_at = max(retry_at, now + 0.5)
            break
        slot = found
        _take(ledger, slot, job_id, needed, page_room)
        reservation.send_at.append(max(float(slot), now))
    return reservation


def note_throttled(ledger: dict[str, Any], now: float, retry_after: float | None) -> None:
    """CU answered 429: nobody calls before its Retry-After, and the rate drops."""
    ledger["slowUntil"] = max(float(ledger["slowUntil"]), now + (retry_after if retry_after else 1.0))
    ledger["factor"] = max(MIN_FACTOR, _recovered_factor(ledger, now) * THROTTLED_FACTOR)
    ledger["factorAt"] = now
    ledger["throttled"] = int(ledger.get("throttled", 0)) + 1


def charge_pages(ledger: dict[str, Any], now: float, pages: int, limits: PacingLimits) -> None:
    """Pages used beyond what was reserved (finished analyses' real counts): taken from the next slots."""
    if pages <= 0 or not limits.enabled:
        return
    page_room = max(1.0, limits.pages_per_minute / 60 * limits.margin * _recovered_factor(ledger, now))
    _spend_pages(ledger, math.floor(now), float(pages), page_room)


# -- the slots ---------------------------------------------------------------------------------


def _slot(ledger: dict[str, Any], second: int) -> dict[str, Any]:
    slots: dict[str, dict[str, Any]] = ledger["slots"]
    return slots.setdefault(str(second), {"ops": 0, "pages": 0.0, "jobs": {}})


def _peek(ledger: dict[str, Any], second: int) -> dict[str, Any] | None:
    slot: dict[str, Any] | None = ledger["slots"].get(str(second))
    return slot


def op_room(second: int, rate: float) -> int:
    """Calls second ``second`` may hold at ``rate`` a second: whole calls, ``rate`` on average (a
    rate below one a second gives some seconds one call and others none)."""
    return math.floor((second + 1) * rate) - math.floor(second * rate)


def _fits(slot: dict[str, Any] | None, second: int, job_id: str, rate: float, jobs: int) -> bool:
    room = op_room(second, rate)
    share = math.ceil(room / max(jobs, 1))  # each active job's part of this second
    if slot is None:
        return room > 0
    return int(slot["ops"]) < room and int(slot["jobs"].get(job_id, 0)) < share


def _room_for(
    ledger: dict[str, Any], seconds: range, job_id: str, rate: float, jobs: int, with_pages: bool
) -> int | None:
    """The first slot in ``seconds`` with room for one more call of ``job_id``."""
    for second in seconds:
        slot = _peek(ledger, second)
        if not _fits(slot, second, job_id, rate, jobs):
            continue
        if with_pages and slot is not None and slot.get("pagesFull"):
            continue  # earlier analyses' pages use up this slot: no analysis starts in it
        return second
    return None


def _take(ledger: dict[str, Any], second: int, job_id: str, pages: int, page_room: float) -> None:
    slot = _slot(ledger, second)
    slot["ops"] = int(slot["ops"]) + 1
    slot["jobs"][job_id] = int(slot["jobs"].get(job_id, 0)) + 1
    if pages:
        _spend_pages(ledger, second, float(pages), page_room)


def _spend_pages(ledger: dict[str, Any], second: int, pages: float, page_room: float) -> None:
    """Pages fill this slot's page room, then the following slots'; a full slot starts no analysis."""
    while pages > 0:
        slot = _slot(ledger, second)
        free = max(page_room - float(slot["pages"]), 0.0)
        used = min(free, pages)
        slot["pages"] = float(slot["pages"]) + used
        pages -= used
        if float(slot["pages"]) >= page_room:
            slot["pagesFull"] = True
        second += 1


def _forget_the_past(ledger: dict[str, Any], now: float) -> None:
    current = math.floor(now)
    slots: dict[str, Any] = ledger["slots"]
    for second in [key for key in slots if int(key) < current]:
        del slots[second]
    jobs: dict[str, float] = ledger["jobs"]
    for job_id in [job for job, seen in jobs.items() if now - float(seen) > ACTIVE_SECONDS]:
        del jobs[job_id]


def _recovered_factor(ledger: dict[str, Any], now: float) -> float:
    factor = float(ledger.get("factor", 1.0))
    since = max(now - float(ledger.get("factorAt", 0.0)), 0.0)
    return min(1.0, factor + RECOVERY_PER_MINUTE * since / 60)
