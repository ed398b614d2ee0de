"""The election's local wall clock (`streams.events.DEFAULT_TIMEZONE`, the UK): local times as
epoch ms, instants as RFC 3339 stamps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from streams.events import DEFAULT_TIMEZONE

ZONE = ZoneInfo(DEFAULT_TIMEZONE)


@lru_cache(maxsize=100_000)
def _minute_ms(day: date, minute: int) -> int:
    local = datetime(day.year, day.month, day.day, tzinfo=ZONE) + timedelta(minutes=minute)
    return int(local.timestamp()) * 1000


def local_ms(day: date, minutes: float) -> int:
    """Epoch ms of a local wall-clock time `minutes` after midnight (the real UK offset)."""
    whole = int(minutes)
    return _minute_ms(day, whole) + int((minutes - whole) * 60_000)


@lru_cache(maxsize=10_000)
def _hour_text(utc_hour: int, utc: bool) -> tuple[str, str]:
    """For one UTC hour: its local "YYYY-MM-DDTHH:" and offset (UK offsets are whole hours)."""
    text = datetime.fromtimestamp(utc_hour * 3600, UTC if utc else ZONE).isoformat()
    return text[:14], "Z" if utc else text[19:]


def stamp(ms: int, utc: bool = False) -> str:
    """RFC 3339 with milliseconds: local time with its real offset, or UTC with `Z`."""
    prefix, suffix = _hour_text(ms // 3_600_000, utc)
    minute, rest = divmod(ms % 3_600_000, 60_000)
    return f"{prefix}{minute:02d}:{rest // 1000:02d}.{rest % 1000:03d}{suffix}"
