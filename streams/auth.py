"""Bearer tokens: from TURNOUT_TOKENS, or one local token kept in .turnout/token (mode 600)."""

from __future__ import annotations

import hmac
import os

from aiohttp import web

from streams.errors import ConfigError
from streams.settings import Settings, new_token, parse_tokens

LOCAL_TOKEN_NAME = "local"


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


def server_tokens(settings: Settings) -> dict[str, str]:
    """{token: name} the worker accepts."""
    if settings.tokens:
        return parse_tokens(settings.tokens)
    return {ensure_local_token(settings): LOCAL_TOKEN_NAME}


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
    """Bearer tokens -> their names; compared in constant time."""

    def __init__(self, by_token: dict[str, str]) -> None:
        self._by_token = by_token

    def name_of(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = token.strip().encode()
        for known, name in self._by_token.items():
            if hmac.compare_digest(known.encode(), given):
                return name
        return None
