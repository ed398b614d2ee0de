"""Posting alert changes to TURNOUT_ALERT_WEBHOOK: JSON, one change per request, in order,
each retried with growing pauses while the receiver is unreachable or answers 408, 429 or 5xx.

The URL is treated as a secret (chat webhooks carry their token in it): logs name its host only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlparse

import httpx

log = logging.getLogger(__name__)

ATTEMPTS = 8
"""Tries per change: with pauses of 1, 2, 4 … 60 s, about three minutes in all."""
FIRST_PAUSE = 1.0
MAX_PAUSE = 60.0
TIMEOUT = 10.0
RETRIED = {408, 429}  # and every 5xx


class Webhook:
    """A queue of payloads and the task that posts them (`run`, started by the worker)."""

    def __init__(
        self,
        url: str,
        attempts: int = ATTEMPTS,
        first_pause: float = FIRST_PAUSE,
        max_pause: float = MAX_PAUSE,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url = url
        self.host = urlparse(url).hostname or "?"
        self.attempts = attempts
        self.first_pause = first_pause
        self.max_pause = max_pause
        self.timeout = timeout
        self._queue: asyncio.Queue[dict[str, Any]] | None = None

    @property
    def queue(self) -> asyncio.Queue[dict[str, Any]]:
        if self._queue is None:  # made on the worker's loop, at first use
            self._queue = asyncio.Queue()
        return self._queue

    def post(self, payload: dict[str, Any]) -> None:
        """Queue one change; `run` delivers the queue in order."""
        self.queue.put_nowait(payload)

    async def run(self) -> None:
        """Deliver queued payloads until cancelled (the worker stopping)."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                payload = await self.queue.get()
                await self.deliver(client, payload)

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> bool:
        """POST one payload, retrying with backoff; False when every attempt failed."""
        pause = self.first_pause
        for attempt in range(1, self.attempts + 1):
            try:
                response = await client.post(self.url, json=payload)
            except httpx.HTTPError as err:
                reason, retry = type(err).__name__, True
            else:
                if response.status_code < 300:
                    return True
                status = response.status_code
                reason, retry = f"HTTP {status}", status in RETRIED or status >= 500
            if not retry or attempt == self.attempts:
                break
            what = f"{payload['key']} {payload['state']}"
            log.warning("alert webhook (%s): %s, try %d failed (%s); retrying in %.0f s",
                        self.host, what, attempt, reason, pause)  # fmt: skip
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.max_pause)
        log.error("alert webhook (%s): %s %s not delivered after %d tries (%s)",
                  self.host, payload["key"], payload["state"], attempt, reason)  # fmt: skip
        return False
