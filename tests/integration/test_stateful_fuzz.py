"""A hypothesis state machine streams valid, invalid and edge events into the real worker.

Each step posts a batch (a JSON array, or NDJSON with NaN/Infinity literals and lines that are
not JSON) of fresh events, duplicates (some altered), retractions (some before their target),
late events and broken ones (unicode, huge strings, odd and out-of-window timestamps, nested
junk). After every step: accepted + rejected = sent, and exactly the items the independent
validity check says must be accepted were. At the end of each run the worker catches up and
turnout-gap equals the ground truth folded from everything sent (`streams.sim.truth`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from streams.cli.client import ApiClient
from streams.settings import Settings
from streams.sim.truth import ground_truth
from tests.conftest import TOKENS, running, settings_for_tests
from tests.integration import fuzz_items as fz
from tests.integration.helpers import assert_rows_equal_truth

pytestmark = pytest.mark.integration

# Bounded: a few runs of a few steps; no shrinking (each step is a round trip to the worker,
# and a failure prints its steps as they are).
RUNS = settings(
    max_examples=5, stateful_step_count=10, deadline=None,
    phases=[Phase.explicit, Phase.generate], database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)  # fmt: skip


class Streams(RuleBasedStateMachine):
    """One election per run; `sent` is every item in send order, as the truth folds it."""

    services: Settings
    keep: Path  # where a failing run's items are written, to replay them by hand

    def __init__(self) -> None:
        super().__init__()
        self.election_id = f"fuzz-{uuid.uuid4().hex[:10]}"
        self.sent: list[Any] = []
        self.requests: list[list[Any]] = []  # the items of each request, as the truth sees them
        self.events: list[dict[str, Any]] = []  # every well-formed event built so far
        self.electors: list[str] = []
        self.wards: list[str] = []
        self.serial = 0
        self.http = httpx.Client(timeout=120)
        self.api = ApiClient(self.services, token=TOKENS["tests"])

    # --- building events -------------------------------------------------------------------

    def _common(self, kind: str, at: str) -> dict[str, Any]:
        self.serial += 1
        event_id = f"{self.election_id}-{self.serial}"
        return {"event_id": event_id, "type": kind, "schema_version": 1,
                "election_id": self.election_id, "occurred_at": at}  # fmt: skip

    def _event(self, data: st.DataObject) -> dict[str, Any]:
        kind = data.draw(st.sampled_from(
            ["elector.registered", "canvass.recorded", "canvass.recorded", "turnout.voted",
             "elector.removed", "election.opened"]))  # fmt: skip
        event = self._common(kind, data.draw(fz.stamps()))
        elector = {"elector_id": data.draw(st.sampled_from(self.electors))}
        ward = data.draw(st.sampled_from(self.wards))
        if kind == "election.opened":
            party = data.draw(st.sampled_from(["LAB", "CON"]))
            event |= {"name": data.draw(st.text(fz.UNICODE, min_size=1, max_size=200)),
                      "polling_date": "2026-05-07", "our_party": party, "polls_open": "07:00",
                      "polls_close": "22:00"}  # fmt: skip
        elif kind == "elector.registered":
            event |= elector | {"ward": ward, "polling_district": data.draw(fz.CODES),
                                "age_band": data.draw(st.sampled_from(fz.BANDS))}  # fmt: skip
        elif kind == "elector.removed":
            event |= elector
        elif kind == "turnout.voted":
            event |= elector | {"ward": ward, "method": data.draw(st.sampled_from(
                ["in_person", "postal", "proxy"]))}  # fmt: skip
        else:
            outcome = data.draw(st.sampled_from(fz.OUTCOMES))
            event |= elector | {"ward": ward, "canvasser_id": data.draw(fz.CODES),
                                "outcome": outcome}  # fmt: skip
            if outcome == "contacted":
                event["intention"] = data.draw(st.sampled_from(fz.INTENTIONS))
            if data.draw(st.booleans()):
                event["age_band"] = data.draw(st.sampled_from(fz.BANDS))
        self.events.append(event)
        return event

    def _item(self, data: st.DataObject, seen: datetime) -> Any:
        choice = data.draw(st.sampled_from(["event", "event", "broken", "duplicate", "retract"]))
        if choice == "event" or not self.events:
            return self._event(data)
        if choice == "broken":
            return data.draw(fz.breakages(self._event(data), seen))
        earlier = data.draw(st.sampled_from(self.events))
        if choice == "duplicate":
            return self._altered(earlier, data) if data.draw(st.booleans()) else dict(earlier)
        retraction = self._common("event.retracted", data.draw(fz.stamps()))
        retraction |= {"target_event_id": earlier["event_id"], "reason": "fuzz: withdrawn"}
        if "elector_id" in earlier and data.draw(st.integers(0, 9)):
            retraction["elector_id"] = earlier["elector_id"]
        return retraction

    def _altered(self, event: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
        """The same event_id again with other values (an app's retry after an edit)."""
        altered = dict(event, occurred_at=data.draw(fz.stamps()))
        if event["type"] == "canvass.recorded" and event["outcome"] == "contacted":
            altered["intention"] = data.draw(st.sampled_from(fz.INTENTIONS))
        elif event["type"] == "elector.registered":
            altered["age_band"] = data.draw(st.sampled_from(fz.BANDS))
        return altered

    # --- sending ---------------------------------------------------------------------------

    def _post(self, body: bytes, content_type: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.services.api}/v1/events", content=body,
            headers={"Authorization": f"Bearer {TOKENS['tests']}", "Content-Type": content_type},
        )  # fmt: skip
        assert response.status_code == 200, response.text[:500]
        return response.json()  # type: ignore[no-any-return]

    def _check(self, items: list[Any], answer: dict[str, Any], seen: datetime) -> None:
        rejected = {r["index"] for r in answer["rejected"]}
        assert answer["accepted"] + len(answer["rejected"]) == len(items)
        expected = {i for i, item in enumerate(items) if not fz.must_accept(item, seen)}
        wrong = sorted(rejected ^ expected)
        assert not wrong, [(repr(items[i])[:500], "rejected" if i in rejected else "accepted")
                           for i in wrong[:3]]  # fmt: skip
        # the ground truth has no occurred_at window: an item outside it is folded as what
        # the worker makes of it, nothing
        kept = [None if fz.outside_window(item, seen) else item for item in items]
        self.sent.extend(kept)
        self.requests.append(kept)

    @initialize(
        electors=st.lists(fz.ELECTOR_IDS, min_size=2, max_size=6, unique=True),
        wards=st.lists(fz.CODES, min_size=1, max_size=3, unique=True),
    )
    def open_election(self, electors: list[str], wards: list[str]) -> None:
        self.electors, self.wards = electors, wards
        opened = self._common("election.opened", "2026-04-01T09:00:00+01:00")
        opened |= {"name": "Fuzzington", "polling_date": "2026-05-07", "our_party": "LAB",
                   "polls_open": "07:00", "polls_close": "22:00"}  # fmt: skip
        self.events.append(opened)
        seen = datetime.now(UTC)
        self._check([opened], self._post(msgspec.json.encode([opened]), "application/json"), seen)

    @rule(data=st.data(), size=st.integers(1, 30))
    def post_array(self, data: st.DataObject, size: int) -> None:
        seen = datetime.now(UTC)
        items = [self._item(data, seen) for _ in range(size)]
        self._check(items, self._post(msgspec.json.encode(items), "application/json"), seen)

    @rule(data=st.data(), size=st.integers(1, 30))
    def post_ndjson(self, data: st.DataObject, size: int) -> None:
        """NDJSON, with lines that are not JSON mixed in: NaN, Infinity, cut-off objects,
        nesting deeper than any parser's limit."""
        seen = datetime.now(UTC)
        items: list[Any] = []
        lines: list[bytes] = []
        for _ in range(size):
            raw = data.draw(st.sampled_from(["item", "item", "item", "not json"]))
            if raw == "item":
                items.append(self._item(data, seen))
                lines.append(msgspec.json.encode(items[-1]))
                continue
            line = data.draw(st.sampled_from([
                b'{"event_id": NaN}', b"NaN", b"Infinity", b"-Infinity", b'{"type": "canvass',
                b"[" * 5000 + b"]" * 5000, b"\xff\xfe not utf-8", b"{'single': 'quotes'}",
            ]))  # fmt: skip
            items.append(line.decode("utf-8", "replace"))  # as the truth sees it: not an event
            lines.append(line)
        self._check(items, self._post(b"\n".join(lines), "application/x-ndjson"), seen)

    @rule()
    def pipeline_keeps_moving(self) -> None:
        self.api.wait_caught_up(120)
        self.requests.append([])  # a wait between requests

    def teardown(self) -> None:
        try:
            if self.sent:
                self.api.wait_caught_up(120)
                truth = ground_truth(self.sent, election_id=self.election_id)
                rows = self.api.turnout_gap(self.election_id, by="ward,age_band")["rows"]
                try:
                    assert_rows_equal_truth(rows, truth)
                except AssertionError as err:
                    sent = self.keep / f"{self.election_id}.json"
                    kept = {"sent": self.sent, "requests": self.requests, "rows": rows}
                    sent.write_text(json.dumps(kept | {"error": str(err)}))
                    raise AssertionError(
                        f"{err}\npipeline rows: {rows}\ntruth: {truth}\nitems sent: {sent}"
                    ) from None
        finally:
            self.http.close()


@pytest.fixture(scope="module")
def own_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A broker and worker of its own: the session's worker is also fuzzed by schemathesis
    (replays included), and this test compares whole elections with their ground truth."""
    with running(settings_for_tests(tmp_path_factory.mktemp("stateful"))) as settings:
        yield settings


def test_streams_of_valid_invalid_and_edge_events_fold_to_the_ground_truth(
    own_services: Settings, tmp_path: Path
) -> None:
    Streams.services, Streams.keep = own_services, tmp_path
    run_state_machine_as_test(Streams, settings=RUNS)
