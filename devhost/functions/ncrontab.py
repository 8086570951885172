"""NCRONTAB schedules, as the Functions host reads a timer trigger's ``schedule``.

Six fields, seconds first: ``{second} {minute} {hour} {day} {month} {day-of-week}``, in UTC
(``WEBSITE_TIME_ZONE`` is not supported on Linux plans). Each field takes ``*``, a value, a range
``a-b``, a step ``*/n`` or ``a-b/n``, and comma-separated lists of those; months and days of the
week also by their three-letter English names (``JAN``, ``MON``), Sunday being 0. As in NCrontab,
an occurrence must match both the day of the month and the day of the week.

A ``TimeSpan`` schedule (``hh:mm:ss``) is refused: the host accepts it only on App Service plans,
and this app runs on Flex Consumption.
Sources: learn.microsoft.com/azure/azure-functions/functions-bindings-timer ("NCRONTAB
expressions", "TimeSpan"); github.com/atifaziz/NCrontab (field syntax).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from devhost.errors import AppLoadError

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, lowest, highest, names of the values from `lowest` on)
_FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("second", 0, 59, []),
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
)
_TIMESPAN = re.compile(r"^\d+(\.\d+)?:\d{2}(:\d{2})?$")
_SEARCH_LIMIT = timedelta(days=366 * 5)


class ScheduleError(AppLoadError):
    """A timer schedule the host would refuse at indexing."""


@dataclass(frozen=True)
class Schedule:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        text = expression.strip()
        if _TIMESPAN.match(text):
            raise ScheduleError(
                f"The schedule {expression!r} is a TimeSpan, which the Functions host accepts only on "
                "App Service plans; use an NCRONTAB expression ({second} {minute} {hour} {day} {month} "
                "{day-of-week})."
            )
        parts = text.split()
        if len(parts) != 6:
            raise ScheduleError(
                f"The schedule {expression!r} is not a valid NCRONTAB expression: it needs six fields "
                "({second} {minute} {hour} {day} {month} {day-of-week}), found "
                f"{len(parts)}."
            )
        values = [_field(part, *spec, expression) for part, spec in zip(parts, _FIELDS, strict=True)]
        return cls(text, *values)

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (UTC, whole seconds)."""
        current = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = current + _SEARCH_LIMIT
        while current < limit:
            if current.month not in self.months:
                year, month = (
                    (current.year + 1, 1) if current.month == 12 else (current.year, current.month + 1)
                )
                current = current.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
            elif current.day not in self.days or (current.isoweekday() % 7) not in self.weekdays:
                current = (current + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif current.hour not in self.hours:
                current = (current + timedelta(hours=1)).replace(minute=0, second=0)
            elif current.minute not in self.minutes:
                current = (current + timedelta(minutes=1)).replace(second=0)
            elif current.second not in self.seconds:
                current += timedelta(seconds=1)
            else:
                return current
        raise ScheduleError(f"The schedule {self.expression!r} never occurs")


def _field(
    text: str, name: str, lowest: int, highest: int, names: list[str], expression: str
) -> frozenset[int]:
    def value(token: str) -> int:
        upper = token.upper()
        if upper in names:
            return lowest + names.index(upper)
        if not token.isdigit():
            raise ScheduleError(f"The schedule {expression!r} has an invalid {name}: {token!r}")
        number = int(token)
        if not lowest <= number <= highest:
            raise ScheduleError(
                f"The schedule {expression!r} has a {name} out of range ({lowest}-{highest}): {number}"
            )
        return number

    found: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = value(step_text) if step_text else 1
        if step_text and step < 1:
            raise ScheduleError(f"The schedule {expression!r} has a zero step in its {name}")
        if span == "*":
            first, last = lowest, highest
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = value(start), value(end)
        else:
            first = value(span)
            last = highest if step_text else first
        if first > last:
            raise ScheduleError(f"The schedule {expression!r} has an empty {name} range: {span}")
        found.update(range(first, last + 1, step))
    return frozenset(found)
