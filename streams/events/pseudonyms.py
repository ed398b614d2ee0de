"""Keyed pseudonyms for elector ids (TURNOUT_PSEUDONYM_KEY).

With a key set, Turnout never stores the ids apps send: ingest (and the agent, for events
produced straight to Kafka) replaces each `elector_id` with HMAC-SHA256(key, id), cut to 128
bits. The same id always gives the same pseudonym, so an elector's events still fold
together, and an app holding the key maps its own register to the pseudonyms in the knock-up
lists with `turnout pseudonyms`. Without the key, a pseudonym cannot be turned back into the id.
"""

from __future__ import annotations

import hashlib
import hmac

import msgspec

from streams.events.models import Event

PREFIX = "p-"  # 2 + 32 hex characters: a valid elector id itself


def pseudonym(key: bytes, elector_id: str) -> str:
    """The pseudonym of `elector_id` under `key`."""
    digest = hmac.new(key, elector_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def pseudonymize(event: Event, key: bytes | None) -> Event:
    """`event` with its elector id replaced by its pseudonym (unchanged without a key)."""
    elector_id = getattr(event, "elector_id", None)
    if key is None or elector_id is None:
        return event
    return msgspec.structs.replace(event, elector_id=pseudonym(key, elector_id))
