"""Crypto-shredding: an event's personal fields sealed with its elector's data key.

Each elector has a random 256-bit data key (AES-GCM, from `cryptography`). Ingest takes the
personal fields of an event (`PERSONAL_FIELDS`) out of it and puts them back as one sealed
field, `"sealed": "1.<key id>.<base64url(nonce | ciphertext | tag)>"`; the rest stays plain,
so partitioning, the read side's SQL and Grafana work as before. Destroying the key (erasure,
purge) leaves every copy of those fields, in Kafka's log and in ClickHouse, unreadable.

As in the eventsourcing library's AES cipher: AES-GCM (authenticated), a fresh random 96-bit
nonce per message stored with it, and an error saying the text is damaged rather than garbage
out. Added here: the associated data binds a sealed value to its event (election, stored
elector id, event id and type), so it cannot be moved to another event; and data keys are
stored only wrapped (AES-GCM again) by the master key, bound to their elector the same way.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "sealed"  # the field that carries an event's sealed personal fields
FORMAT = "1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, as GCM wants
# The fields that describe a person, per event type. An elector's intention, likelihood and
# age band, and a retraction's free-text reason; ward, district, outcome and vote method
# stay plain (the read side groups by them; docs/personal-data.md).
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "elector.registered": ("age_band",),
    "canvass.recorded": ("intention", "likelihood", "age_band"),
    "event.retracted": ("reason",),
}
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_encode = msgspec.json.Encoder().encode
_decode_fields = msgspec.json.Decoder(dict[str, Any])


class SealError(ValueError):
    """A sealed value that cannot be opened with its key: damaged, or not this event's."""


class MasterKeyError(ValueError):
    """A wrapped data key the master key does not open: another master key wrapped it."""


@dataclass(frozen=True)
class DataKey:
    """One data key of an elector: its id (in every value it sealed) and its cipher."""

    key_id: str
    cipher: AESGCM = field(repr=False)  # never the key in a repr or a log line
    wrapped: str = field(default="", repr=False, compare=False)  # as the key table holds it


class Keys(Protocol):
    """Where `open_item` finds keys: the worker's key ring (store.keys.Keyring)."""

    def key(self, election_id: str, elector_id: str, key_id: str) -> DataKey | None:
        """The data key, or None when it is destroyed (the elector was erased or purged)."""
        ...

    def gone(self, election_id: str, elector_id: str) -> bool:
        """Whether the elector (or their whole election) was erased or purged."""
        ...


def new_data_key() -> tuple[str, bytes]:
    """(key id, 32 random bytes) for a new data key."""
    return secrets.token_hex(8), os.urandom(KEY_BYTES)


def personal_fields(item: dict[str, Any]) -> list[str]:
    """The personal fields present (and not null) in an event given as a JSON object."""
    names = PERSONAL_FIELDS.get(item.get("type"), ())  # type: ignore[arg-type]
    return [n for n in names if item.get(n) is not None]


def needs_key(item: dict[str, Any]) -> bool:
    """Whether sealing `item` takes a data key: it names an elector and has personal fields."""
    return item.get("elector_id") is not None and bool(personal_fields(item))


def seal(item: dict[str, Any], elector_id: str, key: DataKey) -> dict[str, Any]:
    """`item` with its personal fields sealed under `key`; `elector_id` is the id as stored
    (the pseudonym, with a pseudonym key). Unchanged when it has no personal field."""
    names = personal_fields(item)
    if not names:
        return item
    plain = _encode({n: item[n] for n in names})
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.cipher.encrypt(nonce, plain, _context(item, elector_id))
    out = {k: v for k, v in item.items() if k not in names}
    out[SEALED] = f"{FORMAT}.{key.key_id}.{_b64(nonce + sealed)}"
    return out


def sealed_key_id(item: dict[str, Any]) -> str | None:
    """The key id a sealed item names, None when it is not sealed; SealError if malformed."""
    value = item.get(SEALED)
    if value is None:
        return None
    return _parts(value)[0]


def open_sealed(item: dict[str, Any], elector_id: str, key: DataKey) -> dict[str, Any]:
    """`item` with its sealed fields back in place; SealError when they cannot be opened."""
    _, blob = _parts(item[SEALED])
    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        plain = key.cipher.decrypt(nonce, sealed, _context(item, elector_id))
    except InvalidTag:
        raise SealError(
            f"{SEALED}: cannot be opened: damaged, or sealed for another event or elector"
        ) from None
    fields_ = _decode_fields.decode(plain)
    clash = sorted(set(fields_) & set(item))
    if clash:
        raise SealError(f"{SEALED}: {', '.join(clash)} given both sealed and plain; send one")
    out = {k: v for k, v in item.items() if k != SEALED}
    out.update(fields_)
    return out


def open_item(item: dict[str, Any], elector_id: str, keys: Keys) -> dict[str, Any] | None:
    """`item` opened with its elector's key, None when that key is destroyed (count it
    nowhere); unchanged when not sealed. SealError for a damaged sealed value."""
    key_id = sealed_key_id(item)
    if key_id is None:
        return item
    election_id = item.get("election_id")
    if not isinstance(election_id, str):
        raise SealError(f"{SEALED}: the event needs its election_id to be opened")
    key = keys.key(election_id, elector_id, key_id)
    return None if key is None else open_sealed(item, elector_id, key)


# --- data keys, wrapped by the master key ---------------------------------------------------


def wrap(master: bytes, election_id: str, elector_id: str, key_id: str, key: bytes) -> str:
    """The data key sealed by the master key, bound to its elector and id (base64)."""
    nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(master).encrypt(nonce, key, _key_context(election_id, elector_id, key_id))
    return _b64(nonce + wrapped)


def unwrap(master: bytes, election_id: str, elector_id: str, key_id: str, wrapped: str) -> DataKey:
    """The data key of a key-table row; MasterKeyError when the master key does not open it."""
    blob = _unb64(wrapped)
    context = _key_context(election_id, elector_id, key_id)
    try:
        key = AESGCM(master).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
    except InvalidTag:
        raise MasterKeyError(
            "TURNOUT_MASTER_KEY does not open the data keys stored in ClickHouse: every worker "
            "must use the master key they were made with"
        ) from None
    return DataKey(key_id, AESGCM(key), wrapped)


def data_key(key_id: str, key: bytes, wrapped: str = "") -> DataKey:
    return DataKey(key_id, AESGCM(key), wrapped)


def _context(item: dict[str, Any], elector_id: str) -> bytes:
    """Associated data: what a sealed value belongs to (any JSON value, as the item has it)."""
    return _encode(["turnout-sealed-1", item.get("election_id"), elector_id,
                    item.get("event_id"), item.get("type")])  # fmt: skip


def _key_context(election_id: str, elector_id: str, key_id: str) -> bytes:
    return _encode(["turnout-key-1", election_id, elector_id, key_id])


def _parts(value: object) -> tuple[str, bytes]:
    """(key id, nonce | ciphertext) of a sealed value; SealError naming what is wrong."""
    if not isinstance(value, str):
        raise SealError(f"{SEALED}: expected a string 1.<key id>.<base64>")
    version, _, rest = value.partition(".")
    key_id, _, text = rest.partition(".")
    if version != FORMAT or not _KEY_ID.fullmatch(key_id):
        raise SealError(f"{SEALED}: not a value sealed by Turnout (1.<key id>.<base64>)")
    try:
        blob = _unb64(text)
    except (binascii.Error, ValueError):
        raise SealError(f"{SEALED}: damaged (not base64)") from None
    if len(blob) < NONCE_BYTES + 16:
        raise SealError(f"{SEALED}: damaged (too short)")
    return key_id, blob


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
