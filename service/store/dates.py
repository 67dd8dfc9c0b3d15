"""FHIR dates as half-open UTC ranges, in the fixed-width string form the store compares.

A FHIR date is as precise as it is written: ``2025`` is the whole year, ``2025-03-04`` the whole
day. Indexing and searching both turn a value into ``[low, high)`` so that the search prefixes
(``eq``, ``ge``, ``lt`` ...) can be answered by comparing bounds, as the FHIR search page
defines them. A date or time without a zone is taken as UTC.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, NamedTuple

#: Sorts before and after every real timestamp (open ends of a Period).
EARLIEST: Final = "0000-00-00T00:00:00.000000Z"
LATEST: Final = "9999-99-99T99:99:99.999999Z"

_PATTERN: Final = re.compile(
    r"(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


class DateRange(NamedTuple):
    low: str
    high: str


def timestamp(moment: datetime) -> str:
    """A timezone-aware datetime as the store's fixed-width UTC string."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """The inverse of ``timestamp``."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)


def date_range(text: str) -> DateRange:
    """The range a FHIR date, dateTime or instant covers. Raises ValueError naming the value."""
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)")
    part = match.groupdict()
    zone = UTC
    if part["zone"] and part["zone"] != "Z":
        sign = 1 if part["zone"][0] == "+" else -1
        hours, minutes = int(part["zone"][1:3]), int(part["zone"][4:6])
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        start = datetime(int(part["year"]), int(part["month"] or 1), int(part["day"] or 1),
                         int(part["hour"] or 0), int(part["minute"] or 0), int(part["second"] or 0),
                         tzinfo=zone)
        if part["fraction"]:
            digits = part["fraction"][1:]
            start = start.replace(microsecond=int(digits[:6].ljust(6, "0")))
            end = start + timedelta(microseconds=1)  # the store keeps microseconds, no finer
        elif part["second"]:
            end = start + timedelta(seconds=1)
        elif part["minute"]:
            end = start + timedelta(minutes=1)
        elif part["day"]:
            end = start + timedelta(days=1)
        elif part["month"]:
            end = _add_months(start, 1)
        else:
            end = start.replace(year=start.year + 1)
    except ValueError:
        raise ValueError(f"'{text}' is not a real date") from None
    except OverflowError:
        return DateRange(timestamp(start), LATEST)
    return DateRange(timestamp(start), timestamp(end))


def period_range(start: str | None, end: str | None) -> DateRange:
    """A Period's range: from the start of ``start`` to the end of ``end``, open where missing."""
    low = date_range(start).low if start else EARLIEST
    high = date_range(end).high if end else LATEST
    return DateRange(low, high)
