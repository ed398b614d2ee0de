"""`turnout simulate --out` writes the election as NDJSON and its ground truth, by seed; by
default the ground truth goes under TURNOUT_HOME, never into the current directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.cli.commands import main

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
