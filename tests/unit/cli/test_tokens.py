"""`turnout token new|list`: a new scoped token as its TURNOUT_TOKENS entry; list redacts."""

from __future__ import annotations

import pytest

from streams.auth import Principal, parse_tokens
from streams.cli.commands import main


def test_token_new_prints_an_entry_the_worker_accepts(capsys: pytest.CaptureFixture[str]):
    assert main(["token", "new", "ward-7", "--scope", "read", "--election", "2026-05-*"]) == 0
    entry = capsys.readouterr().out.strip().splitlines()[-1]
    [(token, principal)] = parse_tokens(entry).items()
    assert principal == Principal("ward-7", frozenset({"read"}), ("2026-05-*",))
    assert len(token) >= 32


def test_token_list_shows_names_and_scopes_never_whole_tokens(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TURNOUT_TOKENS", "app:secret-app-token:ingest")
    assert main(["token", "list"]) == 0
    out = capsys.readouterr().out
    assert "app" in out and "ingest on all elections" in out
    assert "secret-app-token" not in out


def test_token_new_refuses_a_bad_election_glob(capsys: pytest.CaptureFixture[str]):
    assert main(["token", "new", "x", "--scope", "read", "--election", "no spaces"]) == 1
    assert "election ids or globs" in capsys.readouterr().err
