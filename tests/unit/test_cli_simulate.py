"""`turnout simulate --out` writes the election as NDJSON and its ground truth, by seed; by
default the ground truth goes under TURNOUT_HOME, never into the current directory. With
`--speed` (and `--start`) the weeks before are sent at once, then polling day is paced."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from streams.cli import client
from streams.cli.commands import main
from streams.cli.simulate import clock_labels
from streams.sim import ZONE, SimulationConfig, pacing_starts, simulate, split_at

SMALL = ["simulate", "--electors", "800", "--wards", "3"]


def simulate_to(folder: Path, seed: int) -> tuple[bytes, dict]:
    folder.mkdir()
    out, truth = folder / "events.ndjson", folder / "truth.json"
    assert main([*SMALL, "--seed", str(seed), "--out", str(out), "--truth", str(truth)]) == 0
    return out.read_bytes(), json.loads(truth.read_text())


def test_simulate_out_writes_events_and_truth_deterministically(tmp_path: Path):
    first, truth = simulate_to(tmp_path / "a", seed=3)
    again, _ = simulate_to(tmp_path / "b", seed=3)
    other, _ = simulate_to(tmp_path / "c", seed=4)
    assert first == again and first != other
    lines = first.splitlines()
    assert len(lines) > 800 and json.loads(lines[0])["type"] == "election.opened"
    assert truth["our_party"] == "LAB" and truth["rows"]
    assert {"ward", "age_band", "gap_pts", "knockup_remaining"} <= set(truth["rows"][0])


def test_truth_goes_under_turnout_home_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    here, home, out = tmp_path / "here", tmp_path / "home", tmp_path / "events.ndjson"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("TURNOUT_HOME", str(home))
    assert main([*SMALL, "--seed", "3", "--out", str(out)]) == 0
    truth = home / "simulations" / "2026-05-07-exampleton.truth.json"
    assert json.loads(truth.read_text())["election_id"] == "2026-05-07-exampleton"
    assert list(here.iterdir()) == []
    assert str(truth) in capsys.readouterr().out.replace("\n", "")


class FakeApi:
    """The worker's ingest as `ApiClient` sees it: accepts every JSON object, rejects the rest."""

    posted: ClassVar[list[list[Any]]] = []

    def __init__(self, settings: Any, **_: Any) -> None:
        pass

    def post_events(self, chunk: list[Any]) -> dict[str, Any]:
        FakeApi.posted.append(chunk)
        bad = [{"index": i, "errors": ["body: not an object"]}
               for i, e in enumerate(chunk) if not isinstance(e, dict)]  # fmt: skip
        return {"accepted": len(chunk) - len(bad), "rejected": bad}


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[FakeApi]:
    monkeypatch.setenv("TURNOUT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(client, "ApiClient", FakeApi)
    FakeApi.posted = []
    return FakeApi


def test_speed_sends_what_came_before_the_start_at_once_then_paces_the_rest(
    fake_api: type[FakeApi], capsys: pytest.CaptureFixture[str]
):
    # 10^7x: the hours after 21:00 take about a millisecond of sleeping
    assert main([*SMALL, "--seed", "3", "--speed", "1e7", "--start", "21:00"]) == 0
    sim = simulate(SimulationConfig(seed=3, electors=800, wards=3))
    before, live = split_at(sim.events, pacing_starts(sim.config.polling_date, ZONE, time(21)))
    assert [e for chunk in fake_api.posted for e in chunk] == sim.events
    assert fake_api.posted[0] == before  # one POST: the weeks before and polling day to 21:00
    assert live and str(live[0]["occurred_at"]).startswith("2026-05-07T21:")
    out = capsys.readouterr().out.replace("\n", " ")
    assert f"sending {len(before)} events that happened before Thu 07 May 21:00" in out
    assert f"then {len(live)} events at 1e+07x" in out
    rejected = sum(not isinstance(e, dict) for e in sim.events)
    assert (
        f"sent {len(sim.events)}: accepted {len(sim.events) - rejected}, rejected {rejected}" in out
    )


def test_progress_labels_are_the_simulated_clock_in_local_time():
    at = datetime.fromisoformat("2026-05-07T20:15:30+00:00").timestamp()  # 21:15:30 BST
    labels = [label for label, _ in clock_labels(iter([(None, []), (at, [{}])]))]
    assert labels == [None, "Thu 21:15:30 BST"]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--speed", "600", "--start", "25:00"], "--start: '25:00' is not a time of day; give"),
        (["--speed", "600", "--start", "7pm"], "give HH:MM on the 24-hour clock"),
        (["--start", "16:00"], "--start: says where the paced part of polling day begins"),
        (["--speed", "-1"], "--speed: -1 is negative"),
        (["--speed", "600", "--out", "x.ndjson"], "--speed: paces sending over HTTP; drop it"),
        (["--speed", "6", "--start", "16:00", "--kafka"], "--start: paces sending over HTTP"),
    ],
)  # fmt: skip
def test_pacing_options_are_checked_before_anything_is_simulated(
    fake_api: type[FakeApi], capsys: pytest.CaptureFixture[str], options: list[str], says: str
):
    assert main([*SMALL, *options]) == 1
    assert says in capsys.readouterr().err.replace("\n", " ")
    assert fake_api.posted == []
