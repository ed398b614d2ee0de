"""One hand-written scenario per SPEC rule, through HTTP -> Kafka -> agent -> ClickHouse."""

from __future__ import annotations

import pytest

from streams.cli.client import ApiClient
from tests import factories as f
from tests.integration.helpers import settled

pytestmark = pytest.mark.integration


def totals(api: ApiClient, election_id: str, **params: str) -> dict:
    rows = settled(api, election_id, by=params.pop("by", "ward"), **params)
    assert len(rows) == 1, rows
    return rows[0]


def test_rule1_duplicate_event_id_is_ignored_even_with_other_fields(api, election_id):
    e = election_id
    api.post_events([f.opened(e), f.registered(e, "a"),
                     f.canvass(e, "a", intention="LAB", event_id=f"{e}-c")])  # fmt: skip
    api.post_events([f.canvass(e, "a", intention="CON", event_id=f"{e}-c",
                               at="2026-04-30T18:00:00+01:00")])  # fmt: skip
    row = totals(api, e)
    assert (row["supporters"], row["opponents"]) == (1, 0)


def test_rule2_late_canvass_gives_the_in_order_result(api, election_id):
    e = election_id
    late = "2026-04-20T18:00:00+01:00"
    api.post_events([f.opened(e), f.registered(e, "a"), f.canvass(e, "a", "LAB", at=late)])
    api.post_events([f.canvass(e, "a", intention="CON", at="2026-04-10T18:00:00+01:00")])
    row = totals(api, e)
    assert (row["supporters"], row["opponents"]) == (1, 0)


def test_rule3_retraction_before_its_target_applies_when_it_arrives(api, election_id):
    e = election_id
    vote = f.voted(e, "a", event_id=f"{e}-v")
    api.post_events([f.opened(e), f.registered(e, "a"),
                     f.retracted(e, vote["event_id"], elector_id="a")])  # fmt: skip
    api.post_events([vote, f.voted(e, "b", event_id=f"{e}-w"), f.registered(e, "b")])
    api.post_events([f.retracted(e, f"{e}-w", elector_id="b")])
    assert totals(api, e)["voted"] == 0


def test_rule4_other_outcomes_leave_intention_unchanged(api, election_id):
    e = election_id
    api.post_events([
        f.opened(e), f.registered(e, "a"),
        f.canvass(e, "a", intention="LAB", at="2026-04-10T18:00:00+01:00"),
        f.canvass(e, "a", intention=None, outcome="not_home", at="2026-04-20T18:00:00+01:00"),
        f.canvass(e, "a", intention=None, outcome="refused", at="2026-04-21T18:00:00+01:00"),
    ])  # fmt: skip
    assert totals(api, e)["supporters"] == 1


def test_rule5_unregistered_elector_takes_ward_and_band_from_their_events(api, election_id):
    e = election_id
    api.post_events([
        f.opened(e),
        f.canvass(e, "u", intention="LAB", ward="W7", age_band="25-34",
                  at="2026-04-10T18:00:00+01:00"),
        f.voted(e, "u", ward="W8", at="2026-05-07T09:00:00+01:00"),
    ])  # fmt: skip
    row = totals(api, e, by="ward,age_band")
    assert (row["ward"], row["age_band"]) == ("W8", "25-34")
    district = totals(api, e, by="polling_district")
    assert district["polling_district"] == "unknown"


def test_rule6_removed_counts_nowhere_and_unregistered_everywhere_but_electorate(api, election_id):
    e = election_id
    api.post_events([
        f.opened(e),
        f.registered(e, "gone"), f.canvass(e, "gone", intention="LAB"), f.voted(e, "gone"),
        f.removed(e, "gone", at="2026-05-01T09:00:00+01:00"),
        f.canvass(e, "walk-in", intention="LAB"), f.voted(e, "walk-in"),
        f.registered(e, "r"),
    ])  # fmt: skip
    row = totals(api, e)
    assert row["electorate"] == 1
    assert (row["supporters"], row["supporters_voted"], row["voted"]) == (1, 1, 1)


def test_rule7_one_retracted_vote_of_two_still_counts_as_voted(api, election_id):
    e = election_id
    api.post_events([f.opened(e), f.registered(e, "a"),
                     f.voted(e, "a", event_id=f"{e}-v1"), f.voted(e, "a", event_id=f"{e}-v2"),
                     f.retracted(e, f"{e}-v1", elector_id="a")])  # fmt: skip
    assert totals(api, e)["voted"] == 1


def test_rule8_groups_follow_the_elections_our_party(api, election_id):
    e = election_id
    api.post_events([
        f.opened(e, our_party="CON"),
        f.canvass(e, "a", intention="CON"), f.canvass(e, "b", intention="LAB"),
        f.canvass(e, "c", intention="GRN"), f.canvass(e, "d", intention="UNDECIDED"),
        f.canvass(e, "g", intention="WONT_SAY"), f.voted(e, "b"),
    ])  # fmt: skip
    row = totals(api, e)
    assert (row["supporters"], row["opponents"], row["undecided"]) == (1, 2, 1)
    assert row["opponents_voted"] == 1 and row["opponent_turnout"] == 0.5
    assert row["gap_pts"] == pytest.approx(-50.0)


def test_rule8_without_an_election_opened_nobody_is_for_or_against_us(api, election_id):
    """The stateful fuzz's case: election.opened retracted, a LAB and a CON intention. With no
    our_party there is no "us": neither is a supporter or an opponent, as the truth says."""
    e = election_id
    opened = f.opened(e, event_id=f"{e}-open")
    withdrawn = f.retracted(e, opened["event_id"])
    api.post_events([opened, withdrawn, f.canvass(e, "a", "LAB"), f.canvass(e, "b", "CON")])
    row = totals(api, e)
    assert (row["supporters"], row["opponents"], row["contacted"]) == (0, 0, 2)


def test_as_of_counts_only_events_that_occurred_by_then(api, election_id):
    e = election_id
    api.post_events([
        f.opened(e), f.registered(e, "a"), f.registered(e, "b"),
        f.canvass(e, "a", intention="LAB"), f.canvass(e, "b", intention="LAB"),
        f.voted(e, "a", at="2026-05-07T09:00:00+01:00"),
        f.voted(e, "b", at="2026-05-07T19:00:00+01:00"),
    ])  # fmt: skip
    settled(api, e)
    morning = api.turnout_gap(e, by="ward", as_of="2026-05-07T12:00:00+01:00")["rows"][0]
    assert morning["supporters_voted"] == 1 and morning["knockup_remaining"] == 1
    before = api.turnout_gap(e, by="ward", as_of="2026-04-01T00:00:00Z")["rows"]
    assert before == []
    assert api.turnout_gap(e, by="ward")["rows"][0]["supporters_voted"] == 2
