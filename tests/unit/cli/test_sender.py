"""Sending over HTTP with progress: a paced send's progress line shows its simulated clock and
counts on from what was sent before it."""

from __future__ import annotations

from io import StringIO
from typing import Any

from rich.console import Console

from streams.cli.sender import post_batches, post_timed


class Ingest:
    """Accepts objects and rejects anything else, as the worker's ingest would."""

    def __init__(self) -> None:
        self.posted: list[list[Any]] = []

    def post_events(self, chunk: list[Any]) -> dict[str, Any]:
        self.posted.append(chunk)
        bad = [{"index": i, "errors": [f"body: {e!r} is not an object"]}
               for i, e in enumerate(chunk) if not isinstance(e, dict)]  # fmt: skip
        return {"accepted": len(chunk) - len(bad), "rejected": bad}


def test_post_timed_shows_the_clock_and_counts_on_from_the_first_part() -> None:
    api, screen = Ingest(), StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    summary = post_batches(api, [[{}, {}, "junk"]], 3, console)  # type: ignore[arg-type]
    batches = [("Thu 21:00:00 BST", [{}, {}]), (None, [{}, 7]), ("Thu 21:05:00 BST", [])]
    assert post_timed(api, batches, 4, console, summary) is summary  # type: ignore[arg-type]
    assert api.posted == [[{}, {}, "junk"], [{}, {}], [{}, 7]]
    assert (summary.sent, summary.accepted, summary.rejected) == (7, 5, 2)
    assert summary.reasons == {"body": 2}
    shown = screen.getvalue()
    assert "Thu 21:05:00 BST" in shown and "7/7" in shown and "accepted 5  rejected 2" in shown
