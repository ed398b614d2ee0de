"""Sending a simulated election: pacing by `occurred_at`, and the NDJSON and truth files."""

from __future__ import annotations

import json
import time as wall
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.sim import (
    ZONE,
    Simulation,
    SimulationConfig,
    clock_span,
    clocks,
    paced,
    paced_timed,
    pacing_starts,
    parse_start,
    simulate,
    split_at,
    write_ndjson,
    write_truth,
)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(SimulationConfig(seed=3, electors=4000))


def test_write_ndjson_and_truth_round_trip(sim: Simulation, tmp_path: Path) -> None:
    n = write_ndjson(sim.events, tmp_path / "events.ndjson")
    lines = (tmp_path / "events.ndjson").read_text().splitlines()
    assert n == len(lines) == len(sim.events)
    assert [json.loads(line) for line in lines] == sim.events
    write_truth(sim, tmp_path / "truth.json")
    body = json.loads((tmp_path / "truth.json").read_text())
    assert body == {"election_id": sim.config.election_id, "our_party": "LAB", "rows": sim.truth}


def test_paced_at_speed_zero_sends_everything_in_chunks(sim: Simulation) -> None:
    batches = list(paced(sim.events, 0))
    assert [e for b in batches for e in b] == sim.events
    assert max(len(b) for b in batches) == 1000


def test_paced_compresses_occurred_time_and_keeps_send_order() -> None:
    t0 = datetime.fromisoformat("2026-05-07T18:00:00+01:00")
    events = [{"occurred_at": (t0 + timedelta(seconds=s)).isoformat()} for s in range(0, 10)]
    events.insert(5, {"occurred_at": (t0 - timedelta(hours=3)).isoformat()})  # offline phone
    started = wall.monotonic()
    batches = list(paced(events, 20, tick=0.1))
    elapsed = wall.monotonic() - started
    assert [e for b in batches for e in b] == events
    assert 0.4 < elapsed < 1.5  # 9 s of occurred_at at 20x
    assert len(batches) >= 3


def stamped(*minutes: float, day: str = "2026-05-07") -> list[dict[str, str]]:
    """Events that happened `minutes` after midnight, London time (BST in May), in send order."""
    midnight = datetime.fromisoformat(f"{day}T00:00:00+01:00")
    return [{"occurred_at": (midnight + timedelta(minutes=m)).isoformat()} for m in minutes]


class FakeClock:
    """`monotonic` and `sleep` for `paced_timed`: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("text", "want"),
    [("07:00", time(7)), ("7:05", time(7, 5)), (" 23:59 ", time(23, 59)), ("00:00", time(0))],
)
def test_parse_start_reads_a_24_hour_time_of_day(text: str, want: time) -> None:
    assert parse_start(text) == want


@pytest.mark.parametrize("text", ["24:00", "07:60", "7", "0700", "7pm", "noon", "", "07:00:00"])
def test_parse_start_refuses_anything_but_hh_mm_and_says_what_to_give(text: str) -> None:
    with pytest.raises(ConfigError, match=r"--start: .* give HH:MM .* e\.g\. 07:00"):
        parse_start(text)


def test_pacing_starts_on_polling_day_in_the_elections_local_time() -> None:
    at = pacing_starts(date(2026, 5, 7), ZONE, time(7))
    assert at == datetime(2026, 5, 7, 6, 0, tzinfo=UTC)  # 07:00 BST
    assert pacing_starts(date(2026, 1, 8), ZONE) == datetime(2026, 1, 8, 0, 0, tzinfo=UTC)


def test_clock_ignores_late_events_and_a_lone_stamp_ahead_but_follows_a_real_gap() -> None:
    events = stamped(600, 601, 420, 602, 690, 603, 604)  # 07:00 sent late; 11:30 altered resend
    events += stamped(24 * 60 + 7 * 60)  # the next morning: a real gap
    midnight = datetime.fromisoformat("2026-05-07T00:00:00+01:00").timestamp()
    minutes = [None if t is None else round((t - midnight) / 60) for t in clocks(["junk", *events])]
    assert minutes == [None, 600, 600, 600, 602, 602, 603, 604, 24 * 60 + 420]


def test_split_at_sends_the_weeks_before_polling_day_first(sim: Simulation) -> None:
    before, day = split_at(sim.events, pacing_starts(sim.config.polling_date, ZONE))
    assert before + day == sim.events
    assert before[0]["type"] == "election.opened" and len(before) > len(day) > 0
    assert day[0]["occurred_at"].startswith("2026-05-07T07:")
    polling_day = [e for e in day if isinstance(e, dict) and e.get("type") == "turnout.voted"]
    assert all(not e["occurred_at"] < "2026-05-06" for e in polling_day)  # no weeks-old votes


def test_split_at_a_start_time_sends_the_morning_at_once(sim: Simulation) -> None:
    before, rest = split_at(sim.events, pacing_starts(sim.config.polling_date, ZONE, time(16)))
    assert before + rest == sim.events
    assert rest[0]["occurred_at"].startswith("2026-05-07T16:0")
    morning = [e for e in before if isinstance(e, dict) and e.get("type") == "turnout.voted"]
    assert any(e["occurred_at"].startswith("2026-05-07T15:") for e in morning)


def test_split_at_does_not_start_at_a_resend_whose_time_was_moved_ahead() -> None:
    events = stamped(590, 595, 650, 598, 599, 601, 602)  # 10:50: an altered duplicate
    before, rest = split_at(events, pacing_starts(date(2026, 5, 7), ZONE, time(10)))
    assert (len(before), len(rest)) == (5, 2)


def test_split_at_after_the_last_event_paces_nothing() -> None:
    events = stamped(600, 601)
    assert split_at(events, pacing_starts(date(2026, 5, 7), ZONE, time(23))) == (events, [])


def test_paced_sleeps_so_simulated_time_passes_at_speed() -> None:
    events = stamped(*range(0, 61, 5))  # an hour, an event every five minutes
    fake = FakeClock()
    out = list(paced_timed(events, 600, tick=0.5, sleep=fake.sleep, monotonic=fake.monotonic))
    assert [e for _, b in out for e in b] == events
    assert sum(fake.sleeps) == pytest.approx(6.0)  # 3600 s at 600x
    first = out[0][0]
    for clock, _ in out:  # each batch goes out when its clock is due, not before
        assert clock is not None and first is not None
        assert fake.now >= 100.0 + (clock - first) / 600


def test_paced_does_not_stall_on_a_resend_whose_time_was_moved_ahead() -> None:
    events = stamped(0, 1, 2, 180, 3, 4)  # 03:00: an altered duplicate among 00:00-00:04
    fake = FakeClock()
    batches = list(paced_timed(events, 60, sleep=fake.sleep, monotonic=fake.monotonic))
    assert [e for _, b in batches for e in b] == events
    assert sum(fake.sleeps) == pytest.approx(4.0)  # 4 minutes at 60x, not 3 hours


def test_clock_span_is_the_simulated_time_the_events_cover() -> None:
    assert clock_span(stamped(0, 60, 30, 90)) == pytest.approx(90 * 60)
    assert clock_span(["junk"]) == clock_span([]) == 1.0
