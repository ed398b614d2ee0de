"""Fact builders and a Hypothesis strategy of facts for the fold tests."""

from __future__ import annotations

from hypothesis import strategies as st

from streams.fold.rules import Fact


def reg(eid: str, at: int, ward: str = "W1", district: str = "W1A", band: str = "18-24") -> Fact:
    return Fact(eid, "elector.registered", at, ward=ward, district=district, age_band=band)


def canvass(eid: str, at: int, intention: str = "LAB", outcome: str = "contacted",
            ward: str = "W1", band: str = "", likelihood: int = -1) -> Fact:  # fmt: skip
    return Fact(eid, "canvass.recorded", at, ward=ward, outcome=outcome,
                intention=intention if outcome == "contacted" else "", age_band=band,
                likelihood=likelihood)  # fmt: skip


def voted(eid: str, at: int, ward: str = "W1") -> Fact:
    return Fact(eid, "turnout.voted", at, ward=ward)


def removed(eid: str, at: int) -> Fact:
    return Fact(eid, "elector.removed", at)


def erased(eid: str, at: int) -> Fact:
    return Fact(eid, "elector.erased", at)


def retract(eid: str, at: int, target: str) -> Fact:
    return Fact(eid, "event.retracted", at, target=target)


event_ids = st.sampled_from([f"e{i}" for i in range(8)])
times = st.integers(min_value=0, max_value=6)


@st.composite
def facts(draw: st.DrawFn) -> Fact:
    eid, at = draw(event_ids), draw(times)
    kind = draw(st.sampled_from(["reg", "removed", "canvass", "voted", "retract", "erased"]))
    if kind == "reg":
        return reg(eid, at, ward=draw(st.sampled_from(["W1", "W2"])),
                   band=draw(st.sampled_from(["18-24", "65+"])))  # fmt: skip
    if kind == "removed":
        return removed(eid, at)
    if kind == "canvass":
        outcome = draw(st.sampled_from(["contacted", "not_home"]))
        return canvass(eid, at, draw(st.sampled_from(["LAB", "CON", "UNDECIDED"])), outcome,
                       ward=draw(st.sampled_from(["W1", "W3"])))  # fmt: skip
    if kind == "voted":
        return voted(eid, at)
    if kind == "erased":
        return erased(eid, at)
    return retract(eid, at, target=draw(event_ids))


def first_wins(items: list[Fact]) -> list[Fact]:
    seen: dict[str, Fact] = {}
    for f in items:
        seen.setdefault(f.event_id, f)
    return list(seen.values())
