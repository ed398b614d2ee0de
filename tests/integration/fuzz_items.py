"""Hypothesis strategies for what apps might send to POST /v1/events: valid events of one
election (unicode ids and codes, any UTC offset, late and early), and the ways they break
(huge strings, odd and out-of-window timestamps, nested junk, wrong types, non-objects).

Which items the worker must accept is decided independently of `streams.events`: by the ground
truth's own check (`streams.sim.truth.is_valid`) plus the documented occurred_at window
(2000-01-01 to 24 h after receipt), restated here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from streams.sim.truth import is_valid, parse_instant

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(hours=24)
BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
INTENTIONS = ("LAB", "CON", "GRN", "UNDECIDED", "WONT_VOTE", "WONT_SAY")
OUTCOMES = ("contacted", "not_home", "refused", "moved", "inaccessible")
# printable and not: every plane, no lone surrogates (JSON text must be Unicode)
UNICODE = st.characters(exclude_categories=("Cs",))
CODES = st.text(UNICODE, min_size=1, max_size=64)
# Elector ids are pseudonyms of a documented shape (docs/pseudonyms.md); other ids are
# rejected, which the broken items exercise.
ELECTOR_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,40}", fullmatch=True)
CAMPAIGN = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 7, 22, tzinfo=UTC))


def outside_window(item: Any, seen: datetime) -> bool:
    """Whether `item` has a readable occurred_at outside [2000-01-01, `seen` + 24 h]."""
    at = parse_instant(item.get("occurred_at")) if isinstance(item, dict) else None
    return at is not None and not EARLIEST <= at <= seen + AHEAD - timedelta(seconds=1)


def must_accept(item: Any, seen: datetime) -> bool:
    """Whether the worker must accept `item` received at `seen` (independent of its code)."""
    return is_valid(item) and not outside_window(item, seen)


@st.composite
def stamps(draw: st.DrawFn) -> str:
    """An RFC 3339 time in the campaign, with any offset, sometimes with a fraction."""
    seconds = draw(st.integers(0, int((CAMPAIGN[1] - CAMPAIGN[0]).total_seconds())))
    offset = draw(st.sampled_from(["Z", "+01:00", "-05:30", "+14:00", "-12:00", "+00:00"]))
    fraction = draw(st.sampled_from(["", ".5", ".123456", ".123456789"]))
    utc = CAMPAIGN[0] + timedelta(seconds=seconds)
    if offset == "Z":
        return f"{utc:%Y-%m-%dT%H:%M:%S}{fraction}Z"
    sign = 1 if offset[0] == "+" else -1
    shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])) * sign
    return f"{utc + shift:%Y-%m-%dT%H:%M:%S}{fraction}{offset}"


ODD_STAMPS = st.sampled_from([
    "1970-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z", "2999-12-31T23:59:59Z",
    "1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", "1999-12-31T23:30:00-01:00",
    "2026-05-07T10:00:00", "2026-02-30T10:00:00Z", "07/05/2026 18:31", "", "2026-05-07",
    "2026-05-07T10:00:00+25:00", "2026-05-07T24:00:00Z", "९९९९-०१-०१T00:00:00Z",
])  # fmt: skip


def far_future(seen: datetime) -> st.SearchStrategy[str]:
    """Times more than 24 h after receipt (a device clock or year typo)."""
    return st.integers(25 * 3600, 10 * 365 * 86400).map(
        lambda s: f"{seen + timedelta(seconds=s):%Y-%m-%dT%H:%M:%S}Z"
    )


JUNK: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(UNICODE),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)  # fmt: skip


def huge(min_size: int = 65) -> st.SearchStrategy[str]:
    """Strings longer than any field allows, up to 200,000 characters."""
    return st.builds(lambda c, n: c * n, st.text(UNICODE, min_size=1, max_size=3),
                     st.integers(min_size, 200_000))  # fmt: skip


def deep(levels: int) -> Any:
    """A list nested `levels` deep."""
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


@st.composite
def breakages(draw: st.DrawFn, event: dict[str, Any], seen: datetime) -> Any:
    """`event` broken one way an app or an attacker might break it."""
    key = draw(st.sampled_from(sorted(event)))
    how = draw(st.sampled_from([
        "drop", "junk", "huge", "odd_time", "future_time", "unknown_field", "type", "version",
        "not_object", "deep",
    ]))  # fmt: skip
    broken = dict(event)
    if how == "drop":
        del broken[key]
    elif how == "junk":
        broken[key] = draw(JUNK.filter(lambda v: not isinstance(v, str)))
    elif how == "huge":
        broken[draw(st.sampled_from(["event_id", "election_id", "elector_id", "ward"]))] = draw(
            huge()
        )
    elif how == "odd_time":
        broken["occurred_at"] = draw(ODD_STAMPS)
    elif how == "future_time":
        broken["occurred_at"] = draw(far_future(seen))
    elif how == "unknown_field":
        broken[draw(st.text(UNICODE, min_size=1, max_size=20).filter(lambda k: k not in event))] = (
            draw(JUNK)
        )
    elif how == "type":
        broken["type"] = draw(st.sampled_from(["canvass.deleted", "", "CANVASS.RECORDED"]))
    elif how == "version":
        broken["schema_version"] = draw(st.sampled_from([2, "1", 1.0, 0, None, True]))
    elif how == "deep":
        broken[key] = deep(draw(st.integers(10, 300)))
    else:
        return draw(JUNK.filter(lambda v: not isinstance(v, dict)))
    return broken
