"""The query commands, run in-process against the real worker: json output is exactly the
HTTP rows, tables are readable, `turnout watch` draws a frame and exits cleanly on Ctrl-C."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rich.console import Console

from streams.cli import commands as cli
from streams.cli import watch
from streams.cli.client import ApiClient
from streams.settings import Settings
from tests.integration import read_scenario as scenario

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(services: Settings) -> ApiClient:
    return ApiClient(services)


@pytest.fixture(scope="module")
def election(client: ApiClient) -> str:
    e = f"cli-{uuid.uuid4().hex[:10]}"
    scenario.post_and_wait(client, e)
    return e


@pytest.fixture
def turnout(services: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """Run `turnout ARGS…` in-process with the test services' settings: (exit code, out, err)."""
    for name, value in services.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "console", Console(width=200, color_system=None))

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


CASES = [
    (["gap", "--by", "ward"], "turnout-gap", {"by": "ward"}),
    (["gap", "--by", "age_band", "--as-of", "2026-05-07T09:00:00+01:00"], "turnout-gap",
     {"by": "age_band", "as_of": "2026-05-07T09:00:00+01:00"}),
    (["gap", "--ward", "W1"], "turnout-gap", {"ward": "W1"}),
    (["knockup"], "knockup", {}),
    (["knockup", "--ward", "W1", "--limit", "2"], "knockup", {"ward": "W1", "limit": 2}),
    (["knockup", "--polling-district", "D1B"], "knockup", {"polling_district": "D1B"}),
    (["timeline", "--bucket", "1h"], "timeline", {"bucket": "1h"}),
    (["coverage", "--ward", "W2"], "coverage", {"ward": "W2"}),
    (["activity", "--by", "hour"], "activity", {"by": "hour"}),
    (["activity"], "activity", {}),
    (["effect"], "effect", {}),
]  # fmt: skip


@pytest.mark.parametrize(("args", "endpoint", "params"), CASES)
def test_json_output_is_exactly_the_http_rows(turnout, client, election, args, endpoint, params):
    code, out, _ = turnout(*args, "--election", election, "--format", "json")
    assert code == 0
    assert json.loads(out) == client.election(election, endpoint, **params)["rows"]


@pytest.mark.parametrize(("args", "endpoint", "params"), CASES)
def test_csv_and_table_outputs_render(turnout, client, election, args, endpoint, params):
    code, out, _ = turnout(*args, "--election", election, "--format", "csv")
    rows = client.election(election, endpoint, **params)["rows"]
    assert code == 0 and out.splitlines()[0].split(",") == list(rows[0])
    assert len(out.splitlines()) == len(rows) + 1
    code, out, _ = turnout(*args, "--election", election)
    assert code == 0 and out.strip()


def test_gap_table_shows_percentages_with_one_decimal_worst_gap_first(turnout, election):
    code, out, _ = turnout("gap", "--election", election, "--by", "ward")
    assert code == 0
    w2, w1 = out.index("W2"), out.index("W1")
    assert w2 < w1  # W2 trails by 50 points, W1 by 30
    assert "20.0%" in out and "50.0%" in out and "-30.0" in out and "-50.0" in out


def test_coverage_table_is_wards_by_age_bands(turnout, election):
    code, out, _ = turnout("coverage", "--election", election)
    assert code == 0
    header = next(line for line in out.splitlines() if "18-24" in line)
    assert header.index("18-24") < header.index("65+")
    assert "75.0%" in out  # W1 65+: 3 of 4 contacted


def test_effect_table_has_the_summary_caption(turnout, election):
    code, out, _ = turnout("effect", "--election", election)
    assert code == 0 and "with campaign days: 1 wards" in out and "37.5%" in out


def test_sql_command_prints_rows(turnout, election):
    query = (f"SELECT elector_id, likelihood FROM electors FINAL WHERE election_id = '{election}' "
             "AND elector_id IN ('a1', 'a4') ORDER BY elector_id")  # fmt: skip
    code, out, _ = turnout("sql", query, "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"elector_id": "a1", "likelihood": 9},
                               {"elector_id": "a4", "likelihood": -1}]  # fmt: skip
    code, out, _ = turnout("sql", query, "--format", "csv")
    assert out.splitlines() == ["elector_id,likelihood", "a1,9", "a4,-1"]
    code, out, err = turnout("sql", "DROP TABLE events")
    assert code == 1 and "DROP is not allowed" in err


def test_unknown_election_exits_1_saying_so(turnout):
    code, _, err = turnout("knockup", "--election", "no-such-election")
    assert code == 1 and "404" in err and "no-such-election" in err


def test_watch_frame_fits_80x24_and_shows_every_ward(client, election):
    client.wait_caught_up()
    snapshot = watch.fetch(client, election)
    frame = watch.render_text(snapshot)
    lines = frame.splitlines()
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    assert "● live" in lines[0] and election in lines[0]
    w2 = next(line for line in lines if line.startswith("W2"))
    assert "50.0%" in w2 and "100.0%" in w2 and "-50.0" in w2 and "█" in w2
    total = next(line for line in lines if line.startswith("election"))
    assert "-46.4" in total  # supporters 2 of 7 voted, opponents 3 of 4: 28.6% - 75.0%
    assert lines.index(w2) < lines.index(next(x for x in lines if x.startswith("W1")))


def test_watch_waits_for_an_election_with_no_events(client):
    frame = watch.render_text(watch.fetch(client, "not-yet-opened"))
    assert "no events for not-yet-opened yet" in frame


def test_watch_command_exits_cleanly_on_ctrl_c(turnout, election, monkeypatch):
    def interrupt(seconds: float) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(watch.time, "sleep", interrupt)
    code, out, _ = turnout("watch", "--election", election)
    assert code == 0 and "W1" in out and "election" in out
