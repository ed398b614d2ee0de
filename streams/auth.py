"""Bearer tokens with scopes, optionally bound to elections.

`TURNOUT_TOKENS` is a comma-separated list of `name:token[:scopes[:elections]]`:
- scopes: `+`-separated from `ingest`, `read`, `sql`, `admin` (or `all`);
- elections: `|`-separated election ids or globs (`2026-05-07-*`); a bound token sees only
  those elections (others answer 404, as if they did not exist) and cannot use `/v1/sql`.
The old form `name:token` still works and gets every scope, with a warning. Unset, the worker
makes one local token with every scope, kept in `.turnout/token` (mode 600).
"""

from __future__ import annotations

import fnmatch
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass

from aiohttp import web

from streams.errors import ConfigError
from streams.settings import Settings

log = logging.getLogger(__name__)

LOCAL_TOKEN_NAME = "local"
SCOPES = ("ingest", "read", "sql", "admin")
SCOPE_DOCS = {
    "ingest": "POST /v1/events",
    "read": "the /v1/elections/... read endpoints",
    "sql": "POST /v1/sql",
    "admin": "replay and other operator endpoints",
}
MIN_TOKEN_LENGTH = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_ELECTION_GLOB = re.compile(r"^[A-Za-z0-9_.*?\[\]-]{1,64}$")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def redact(token: str) -> str:
    """A token as it may appear in output: its first four characters only."""
    return token[:4] + "…"


@dataclass(frozen=True)
class Principal:
    """Who a token speaks for: its name, its scopes, and the elections it may see (None: all)."""

    name: str
    scopes: frozenset[str]
    elections: tuple[str, ...] | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def sees(self, election_id: str) -> bool:
        if self.elections is None:
            return True
        return any(fnmatch.fnmatchcase(election_id, glob) for glob in self.elections)

    def describe(self) -> str:
        """Scopes and binding in words, for `turnout token list` (never the token)."""
        bound = "all elections" if self.elections is None else " | ".join(self.elections)
        return f"{'+'.join(s for s in SCOPES if s in self.scopes)} on {bound}"


def parse_tokens(spec: str | None) -> dict[str, Principal]:
    """`TURNOUT_TOKENS` -> {token: Principal}. Raises ConfigError naming the bad entry."""
    if not spec:
        return {}
    tokens: dict[str, Principal] = {}
    for i, entry in enumerate(spec.split(","), start=1):
        token, principal = parse_entry(entry.strip(), i)
        if token in tokens:
            raise ConfigError(f"TURNOUT_TOKENS entry {i}: the same token is given twice")
        tokens[token] = principal
    return tokens


def parse_entry(entry: str, i: int) -> tuple[str, Principal]:
    """One `name:token[:scopes[:elections]]` entry (`i` numbers it in errors)."""
    where = f"TURNOUT_TOKENS entry {i}"
    parts = entry.split(":")
    if len(parts) < 2 or len(parts) > 4:
        raise ConfigError(f"{where}: expected name:token[:scopes[:elections]]")
    name, token = parts[0], parts[1]
    if not _NAME.match(name):
        raise ConfigError(f"{where}: the name must be 1-64 letters, digits or _.@-")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"{where} ({name}): the token needs {MIN_TOKEN_LENGTH}+ characters")
    if len(parts) == 2:
        log.warning(
            "%s (%s) has no scopes, so it gets all of them (%s); write name:token:scopes "
            "to narrow it", where, name, "+".join(SCOPES),
        )  # fmt: skip
        return token, Principal(name, frozenset(SCOPES))
    scopes = parse_scopes(parts[2], f"{where} ({name})")
    elections = parse_elections(parts[3], f"{where} ({name})") if len(parts) == 4 else None
    return token, Principal(name, scopes, elections)


def parse_scopes(text: str, where: str) -> frozenset[str]:
    names = [s.strip() for s in text.split("+") if s.strip()]
    if names == ["all"]:
        return frozenset(SCOPES)
    unknown = [s for s in names if s not in SCOPES]
    if not names or unknown:
        shown = ", ".join(repr(s) for s in unknown) or "none"
        raise ConfigError(
            f"{where}: unknown scopes {shown}; use one or more of {'+'.join(SCOPES)}, or all"
        )
    return frozenset(names)


def parse_elections(text: str, where: str) -> tuple[str, ...]:
    globs = tuple(g.strip() for g in text.split("|") if g.strip())
    bad = [g for g in globs if not _ELECTION_GLOB.match(g)]
    if not globs or bad:
        raise ConfigError(
            f"{where}: elections must be election ids or globs such as 2026-05-07-*, separated by |"
        )
    return globs


def format_entry(name: str, token: str, scopes: frozenset[str], elections: tuple[str, ...]) -> str:
    """The `TURNOUT_TOKENS` entry for a token (what `turnout token new` prints)."""
    entry = f"{name}:{token}:{'+'.join(s for s in SCOPES if s in scopes)}"
    return entry + (":" + "|".join(elections) if elections else "")


def ensure_local_token(settings: Settings) -> str:
    """The local token, created (mode 600) when missing."""
    path = settings.token_file
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def server_tokens(settings: Settings) -> dict[str, Principal]:
    """{token: Principal} the worker accepts; the local token has every scope."""
    if settings.tokens:
        return parse_tokens(settings.tokens)
    local = Principal(LOCAL_TOKEN_NAME, frozenset(SCOPES))
    return {ensure_local_token(settings): local}


def client_token(settings: Settings) -> str:
    """The token the CLI sends: the first of TURNOUT_TOKENS, else the local token file."""
    if settings.tokens:
        return next(iter(parse_tokens(settings.tokens)))
    if not settings.token_file.exists():
        raise ConfigError(
            f"no API token: {settings.token_file} does not exist; run `turnout up` "
            "or set TURNOUT_TOKENS"
        )
    return settings.token_file.read_text().strip()


class Tokens:
    """Bearer tokens -> who they speak for; compared in constant time."""

    def __init__(self, by_token: dict[str, Principal]) -> None:
        self._by_token = {token.encode(): principal for token, principal in by_token.items()}

    def principal(self, request: web.Request) -> Principal | None:
        """The request's principal, or None for a missing or unknown token."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = token.strip().encode("utf-8", "replace")
        found = None
        for known, principal in self._by_token.items():
            if hmac.compare_digest(known, given):  # no early exit: same time for every token
                found = principal
        return found

    def name_of(self, request: web.Request) -> str | None:
        principal = self.principal(request)
        return principal.name if principal else None
