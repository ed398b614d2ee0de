"""A webhook receiver on loopback for the alert tests: records every JSON body it is sent and
answers 200, or an error for the next requests it was told to refuse."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """`received`: bodies answered 200, in order; `attempts`: every body, refused ones too."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.refuse: list[int] = []  # statuses for the next requests, first first
        self.refuse_for: dict[str, list[int]] = {}  # the same, for one election's alerts only
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, body: dict[str, Any]) -> int:
        with self.lock:
            self.attempts.append(body)
            mine = self.refuse_for.get(str(body.get("election_id")), [])
            status = mine.pop(0) if mine else self.refuse.pop(0) if self.refuse else 200
            if status == 200:
                self.received.append(body)
            return status

    def of(self, election_id: str) -> list[dict[str, Any]]:
        """The bodies received about one election."""
        with self.lock:
            return [b for b in self.received if b.get("election_id") == election_id]

    def wait_for(
        self, test: Callable[[list[dict[str, Any]]], bool], timeout: float = 60
    ) -> list[dict[str, Any]]:
        """Poll `received` until `test` holds on a copy of it; fail with what came."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                seen = list(self.received)
            if test(seen):
                return seen
            assert time.monotonic() < deadline, f"the receiver got: {json.dumps(seen, indent=1)}"
            time.sleep(0.1)


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A Receiver listening on 127.0.0.1 (a free port) until the block ends."""
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status = found.answer(json.loads(self.rfile.read(length)))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
