"""Parsing TURNOUT_TOKENS: scopes, election bindings, the old form, and clear errors."""

from __future__ import annotations

import logging

import pytest

from streams.auth import SCOPES, Principal, format_entry, parse_tokens
from streams.errors import ConfigError


def test_scopes_and_elections_are_read_from_each_entry():
    tokens = parse_tokens("app:tok-app-123:ingest,org:tok-org-123:read+ingest:2026-05-07-*|x-1")
    assert tokens["tok-app-123"] == Principal("app", frozenset({"ingest"}))
    assert tokens["tok-org-123"] == Principal(
        "org", frozenset({"read", "ingest"}), ("2026-05-07-*", "x-1")
    )


def test_old_name_token_form_gets_every_scope_with_a_warning(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING):
        tokens = parse_tokens("old:secret-token-value")
    assert tokens["secret-token-value"].scopes == frozenset(SCOPES)
    assert "old" in caplog.text and "all of them" in caplog.text
    assert "secret-token-value" not in caplog.text


def test_all_means_every_scope():
    assert parse_tokens("a:12345678:all")["12345678"].scopes == frozenset(SCOPES)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("a:short", "8+ characters"),
        ("a:12345678:reed", "unknown scopes 'reed'"),
        ("a:12345678:", "unknown scopes none"),
        ("a:12345678:read:", "election ids or globs"),
        ("a:12345678:read:bad glob!", "election ids or globs"),
        ("a b:12345678", "name must be"),
        ("justaname", "expected name:token"),
        ("a:12345678:read:x:y", "expected name:token"),
        ("a:12345678,b:12345678", "same token is given twice"),
    ],
)
def test_bad_entries_name_the_entry_and_the_fix(spec: str, says: str):
    with pytest.raises(ConfigError) as err:
        parse_tokens(spec)
    assert "TURNOUT_TOKENS entry" in str(err.value) and says in str(err.value)
    assert "12345678" not in str(err.value)  # the token itself is never echoed


def test_binding_matches_ids_and_globs_exactly():
    bound = Principal("org", frozenset({"read"}), ("2026-05-07-*", "by-2026"))
    assert bound.sees("2026-05-07-trafford") and bound.sees("by-2026")
    assert not bound.sees("2026-05-08-trafford") and not bound.sees("by-2026x")
    assert Principal("all", frozenset({"read"})).sees("anything")


def test_format_entry_round_trips():
    entry = format_entry("org", "tok-abcdefgh", frozenset({"read", "sql"}), ("e-*",))
    assert entry == "org:tok-abcdefgh:read+sql:e-*"
    assert parse_tokens(entry)["tok-abcdefgh"] == Principal(
        "org", frozenset({"read", "sql"}), ("e-*",)
    )
