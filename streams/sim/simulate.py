"""A realistic, deterministic local election, sent as the apps would send it, with its ground truth.

`simulate(config)` builds one council's election, phase by phase, into an `Election`
(`streams.sim.election`): a register with late alterations, a few removals and electors missing
from it (`electorate`), four weeks of canvassing sessions and campaign days (`canvassing`),
postal votes before polling day, in-person votes 07:00-22:00 on a daily curve, knock-up on
polling day and the declared results (`polling_day`). With `noise` the stream is sent as real
apps send it (`noise`): retried duplicates (some with altered fields), phones offline for hours,
retractions (some sent before their target) and malformed events.

The simulator keeps what *really* happened per elector and derives `Simulation.truth` from it
(`streams.sim.truth.aggregate`); `streams.sim.truth.ground_truth(sim.events)` must give the same
rows from the messy stream alone, which the tests check. Everything is drawn from one
`random.Random(seed)`; nothing depends on hash seeds or the clock.

Calibration, with its sources: `streams.sim.calibration`.
"""

from __future__ import annotations

from typing import Any

from streams.sim.canvassing import plan_canvassing, run_sessions
from streams.sim.election import Election, Simulation, SimulationConfig
from streams.sim.electorate import build_council, build_register, open_election
from streams.sim.noise import add_noise
from streams.sim.polling_day import decide_votes, declare_results, plan_knock_up, record_votes
from streams.sim.truth import ElectorState, aggregate


def simulate(config: SimulationConfig) -> Simulation:
    """One election as the apps send it (noise included), and the rows it must give."""
    election = Election(config)
    build_council(election)
    open_election(election)
    build_register(election)
    plan_canvassing(election)
    run_sessions(election, ("canvass", "campaign_day"))
    decide_votes(election)
    plan_knock_up(election)
    run_sessions(election, ("knock_up",))
    record_votes(election)
    declare_results(election)
    if config.noise:
        add_noise(election)
    election.sent.sort(key=lambda s: (s.send_ms, s.seq))
    return Simulation(
        config=config,
        events=[s.event for s in election.sent],
        malformed=election.counts.get("malformed", 0),
        truth=_what_really_happened(election),
        noise_counts=dict(sorted(election.counts.items())),
    )


def _what_really_happened(election: Election) -> list[dict[str, Any]]:
    """The rows per ward x age band, from each elector's real state (not from the events)."""
    states = []
    for e in election.electors:
        if e.story == "removed" or not (e.in_register or e.seen):
            continue
        district = e.district if e.in_register else "unknown"
        age = e.reg_age if e.in_register else e.canvass_age or "unknown"
        states.append(
            ElectorState(
                e.elector_id,
                e.ward.name,
                district,
                age,
                e.in_register,
                e.contacted,
                e.said,
                e.vote_ms is not None,
            )
        )
    return aggregate(states, election.cfg.our_party, ("ward", "age_band"))
