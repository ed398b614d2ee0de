"""The alert webhook against a real HTTP receiver on loopback: delivered in order, retried with
growing pauses on 5xx and unreachable receivers, not retried on a refusal, and never logging
the URL (it may carry the hook's secret)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from streams.worker.webhook import Webhook
from tests.conftest import free_port
from tests.receiver import receiver


def body(n: int) -> dict[str, Any]:
    return {"key": f"rule/e/W{n}", "state": "firing", "n": n}


def deliver(hook: Webhook, payload: dict[str, Any]) -> bool:
    async def go() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            return await hook.deliver(client, payload)

    return asyncio.run(go())


def test_queued_payloads_are_delivered_in_order():
    with receiver() as got:
        hook = Webhook(got.url, first_pause=0.01)

        async def go() -> None:
            for n in range(3):
                hook.post(body(n))
            task = asyncio.create_task(hook.run())
            while len(got.received) < 3:
                await asyncio.sleep(0.01)
            task.cancel()

        asyncio.run(go())
        assert [b["n"] for b in got.received] == [0, 1, 2]


def test_a_failing_receiver_is_retried_with_growing_pauses(monkeypatch):
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    with receiver() as got:
        got.refuse = [503, 500, 429]
        assert deliver(Webhook(got.url, first_pause=1.0, max_pause=3.0), body(1))
        assert len(got.attempts) == 4 and got.received == [body(1)]
    assert pauses == [1.0, 2.0, 3.0]


def test_a_refusal_is_not_retried_and_giving_up_is_logged_without_the_url(caplog):
    caplog.set_level(logging.WARNING)
    with receiver() as got:
        got.refuse = [400]
        url = got.url + "?token=s3cret"
        assert not deliver(Webhook(url, first_pause=0.01), body(1))
        assert len(got.attempts) == 1 and got.received == []
    assert "not delivered after 1 tries (HTTP 400)" in caplog.text
    assert "s3cret" not in caplog.text and "127.0.0.1" in caplog.text


@pytest.mark.parametrize("attempts", [1, 3])
def test_an_unreachable_receiver_is_tried_attempts_times(attempts, caplog):
    caplog.set_level(logging.WARNING)
    hook = Webhook(f"http://127.0.0.1:{free_port()}/hook", attempts=attempts, first_pause=0.01)
    assert not deliver(hook, body(1))
    assert caplog.text.count("retrying") == attempts - 1
    assert f"not delivered after {attempts} tries (ConnectError)" in caplog.text
