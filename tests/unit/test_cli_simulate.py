"""`turnout simulate --out` writes the election as NDJSON and its ground truth, by seed."""

from __future__ import annotations

import json
from pathlib import Path

from streams.cli.commands import main


def simulate_to(folder: Path, seed: int) -> tuple[bytes, dict]:
    folder.mkdir()
    out, truth = folder / "events.ndjson", folder / "truth.json"
    args = ["simulate", "--seed", str(seed), "--electors", "800", "--wards", "3"]
    assert main([*args, "--out", str(out), "--truth", str(truth)]) == 0
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
