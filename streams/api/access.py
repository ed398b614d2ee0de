"""Who may call what: the token's scope for the endpoint, and the elections it is bound to.

An election outside a token's binding answers exactly as an unknown election does (404), so a
token cannot learn which other elections exist (object-level authorization).
"""

from __future__ import annotations

from aiohttp import web

from streams.api.responses import error, unauthorized
from streams.auth import SCOPE_DOCS, Principal, Tokens


def not_found(election_id: str) -> web.Response:
    """The 404 of an election this principal cannot see (the same text as an unknown one)."""
    return error(404, f"election {election_id!r}: no events accepted for it")


def forbidden(principal: Principal, scope: str) -> web.Response:
    return error(
        403,
        f"this token ({principal.name}) lacks the {scope!r} scope needed for "
        f"{SCOPE_DOCS[scope]}; ask an admin for a token with it (`turnout token new`)",
    )


def authorize(tokens: Tokens, request: web.Request, scope: str) -> Principal | web.Response:
    """The request's principal if it may use `scope` here, else the error response to send."""
    principal = tokens.principal(request)
    if principal is None:
        return unauthorized()
    if not principal.allows(scope):
        return forbidden(principal, scope)
    election_id = request.match_info.get("election_id")
    if election_id is not None and not principal.sees(election_id):
        return not_found(election_id)
    if scope == "sql" and principal.elections is not None:
        return error(
            403,
            f"this token ({principal.name}) is bound to elections "
            f"{' | '.join(principal.elections)} and cannot run SQL across all of them",
        )
    return principal
