"""Ground truth: a deliberately plain, independent fold of election events into the SPEC metrics.

The pipeline (ingest -> Kafka -> fold -> ClickHouse -> queries) is held to these numbers. This
package shares no code with `streams.events` or `streams.fold`: it re-derives every
elector's state from the raw event dicts in the most direct way, so that a bug there cannot
hide here. It keeps its own copies of the age bands, enumerations, field rules and fold rules
on purpose (elsewhere they are defined once, in `streams.events` and `streams.fold`): do not
replace them with imports, or one mistake would pass on both sides of the comparison.

Rules implemented (SPEC "How state is derived"):
1. Duplicates: among valid events of the election, the first with a given `event_id` in the
   order given (send order) is accepted; later ones are ignored even if other fields differ.
2. Order: each elector's accepted events are folded in (`occurred_at` as an instant, `event_id`
   as a string) order; arrival order does not matter.
3. Retraction: an `event.retracted` removes its target entirely, wherever it sits in the input
   (before or after the target). The retraction's own `occurred_at` does not matter.
4. Intention: that of the latest `contacted` canvass; other outcomes leave it unchanged.
5. Where and how old: ward, polling district and age band of the latest `elector.registered`;
   with no register entry, the ward of the latest canvass or voted event, polling district
   "unknown" and the age band of the latest canvass that gives one, else "unknown".
6. Electorate: the latest of `elector.registered` / `elector.removed` decides. Removed electors
   count in no metric; never-registered ones count in every metric except `electorate`.
7. Voted: at least one (non-retracted) `turnout.voted`.
8. Groups: supporter = intention equals `our_party` of the election's `election.opened`;
   opponent = any other party code; undecided = "UNDECIDED"; anything else is in no group.

Interpretations chosen where the SPEC is silent:
- Validity ("simple checks", see `is_valid`): a JSON object with exactly the fields of its type,
  each of the right JSON type and range; `null` in an optional field means "not given" (as
  the pipeline reads it; `timezone` may not be null); `occurred_at` must be RFC 3339 with
  `T`, seconds and an offset (`Z` or +hh:mm).
  Invalid events are skipped and never count as "accepted" for rule 1: a valid event with the
  same `event_id` arriving later is still accepted.
- One election per fold: `election_id` if given, else the election of the first valid event.
- A retraction of an elector's event applies only when its `elector_id` equals the target's
  (that is how the pipeline can route it to the elector). A retraction's target may be any
  event except another retraction (retracting a retraction has no effect). A retracted event
  has no effect at all: an elector whose only events are retracted does not appear.
- `our_party`: from the latest non-retracted `election.opened`; with none, nobody is a supporter
  or an opponent (there is no "us" to be for or against).
- `as_of`: only events with `occurred_at` <= as_of count; retractions apply whatever their own
  `occurred_at`, and the election's configuration (`election.opened`) is not time-filtered.
- `contacted`: electors with at least one non-retracted canvass whose outcome is `contacted`.
- A canvass with `age_band` "unknown" does not "give" an age band (rule 5 looks further back).
- Cells without any counted elector are left out. A cell whose only electors are never-registered,
  uncontacted non-voters (seen in a `not_home` canvass, say) is kept, with every count 0.
  `turnout` may exceed 1 in a cell where never-registered electors voted (they add to `voted`
  but not to `electorate`).
"""

from streams.sim.truth.fold import (
    ElectionState,
    ElectorState,
    aggregate,
    fold_election,
    ground_truth,
    metrics,
)
from streams.sim.truth.validity import instant_if_valid, is_valid, parse_instant

__all__ = [
    "ElectionState",
    "ElectorState",
    "aggregate",
    "fold_election",
    "ground_truth",
    "instant_if_valid",
    "is_valid",
    "metrics",
    "parse_instant",
]
