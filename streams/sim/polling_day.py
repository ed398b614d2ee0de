"""Polling day: who votes and when (postal votes over the last two weeks, in person 07:00-22:00),
the knock-up rounds, the tellers' marks and the declared results."""

from __future__ import annotations

from streams.sim.canvassing import add_session
from streams.sim.election import Election, pick
from streams.sim.local_time import local_ms


def decide_votes(election: Election) -> None:
    """Who votes, when and how, before any knock-up."""
    rng = election.rng
    for e in election.electors:
        if e.story == "removed" or rng.random() >= e.p_vote:
            continue
        if not e.postal:
            e.vote_ms = election.polling_time(e.age)
            e.method = "proxy" if rng.random() < 0.015 else "in_person"  # assumption
        elif rng.random() < 0.9:  # postal votes arrive over the last two weeks
            e.vote_ms, e.method = election.day_time(14, 27, 9 * 60, 17 * 60), "postal"
        else:  # handed in at a polling station on the day
            e.vote_ms, e.method = election.polling_time(e.age), "postal"


def plan_knock_up(election: Election) -> None:
    """A morning and an evening knock-up round in campaign wards and some others."""
    rng, day = election.rng, election.cfg.polling_date
    for ward in election.wards:
        if ward.campaign or rng.random() < 0.3:
            for start, length in ((10 * 60, 180), (16 * 60, 330)):
                size = min(len(ward.canvassers), rng.randint(3, 12))
                team = rng.sample(ward.canvassers, size)
                add_session(election, ward, None, "knock_up", day, start, length, team, 0)


def record_votes(election: Election) -> None:
    """A `turnout.voted` per vote: postal votes from the council's office, the rest by tellers."""
    rng = election.rng
    for e in election.electors:
        if e.vote_ms is None:
            continue
        e.seen = True
        fields = {"elector_id": e.elector_id, "ward": e.ward.name, "method": e.method}
        if e.method == "postal" and e.vote_ms < local_ms(election.cfg.polling_date, 0):
            # Postal votes are logged by the council's office system, in UTC.
            delay = rng.randint(60_000, 3_600_000)
            election.emit("turnout.voted", e.vote_ms, fields, delay, True)
            continue
        station = f"PS-{e.district}"
        fields |= {"polling_station": station}
        sent = election.emit("turnout.voted", e.vote_ms, fields, rng.randint(10_000, 300_000))
        election.by_station.setdefault(station, []).append(sent)


def declare_results(election: Election) -> None:
    """Each ward's count after the close: votes as electors intended (the undecided as their
    age group votes), with a few rejected ballots."""
    rng, at = election.rng, local_ms(election.cfg.polling_date, 23 * 60 + 30)
    for ward in election.wards:
        votes = dict.fromkeys(election.parties, 0)
        for e in ward.electors:
            if e.vote_ms is None:
                continue
            choice = e.intention
            if choice not in votes:  # undecided or unsaid: as their age group votes
                choice = pick(rng, election.parties, ward.intention_cum[e.age][:5])
            votes[choice] += 1
        ballots = sum(votes.values())
        electorate = sum(e.in_register and e.story != "removed" for e in ward.electors)
        at += rng.randint(4, 10) * 60_000
        declared = {
            "ward": ward.name,
            "electorate": electorate,
            "ballots": ballots + round(ballots * 0.004),  # rejected ballots
            "votes": votes,
            "elected": [max(votes, key=lambda p: (votes[p], p))],
        }
        election.emit("result.declared", at, declared, 5000, utc=True)
