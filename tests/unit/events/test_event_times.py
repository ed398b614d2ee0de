"""occurred_at must lie between 2000-01-01 and 24 h after the event was received."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from streams.errors import EventRejected
from streams.events import Record, decode, decode_record, validate
from tests import factories as f

RECEIVED = datetime(2026, 5, 7, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("at", "says"),
    [
        ("1970-01-01T00:00:00+01:00", "before 2000-01-01"),  # a phone whose clock reset
        ("0001-01-01T00:00:00+00:00", "before 2000-01-01"),
        ("1999-12-31T23:59:59.999999Z", "before 2000-01-01"),
        ("2999-05-07T12:00:00+01:00", "more than 24 h after"),  # a typo'd year
        ("2026-05-08T12:00:01Z", "more than 24 h after"),
    ],
)
def test_occurred_at_outside_the_window_is_rejected_with_a_reason(at: str, says: str):
    event = f.voted("e-1", "a1", at=at)
    with pytest.raises(EventRejected) as err:
        validate(event, RECEIVED)
    [reason] = err.value.errors
    assert reason.startswith("turnout.voted.occurred_at: ") and says in reason
    assert "clock" in reason
    with pytest.raises(EventRejected):
        decode(msgspec.json.encode(event), RECEIVED)


@pytest.mark.parametrize(
    "at", ["2000-01-01T00:00:00Z", "2026-05-08T12:00:00Z", "2026-05-08T13:00:00+01:00"]
)
def test_occurred_at_on_the_window_edges_is_accepted(at: str):
    assert validate(f.voted("e-1", "a1", at=at), RECEIVED).occurred_at.isoformat()


def test_the_window_reason_comes_with_other_field_reasons():
    event = {**f.voted("e-1", "a1", at="2999-01-01T00:00:00Z"), "method": "teleport"}
    with pytest.raises(EventRejected) as err:
        validate(event, RECEIVED)
    fields = sorted(r.split(":")[0] for r in err.value.errors)
    assert fields == ["turnout.voted.method", "turnout.voted.occurred_at"]


def test_a_record_is_judged_by_its_kafka_timestamp_so_replay_agrees():
    """The same record gives the same verdict however late it is read again."""
    ahead = f.voted("e-1", "a1", at="2026-05-09T00:00:00Z")  # 36 h after RECEIVED
    record = Record(0, 7, msgspec.json.encode([ahead]), "kafka", RECEIVED)
    valid, invalid = decode_record(record)
    assert valid == [] and "more than 24 h after" in invalid[0][1][0]
    later = Record(0, 7, record.value, "kafka", RECEIVED + 3 * 86400)
    assert len(decode_record(later)[0]) == 1  # received later, it would have been fine
