"""JSON error responses shared by every HTTP handler of the worker."""

from __future__ import annotations

from aiohttp import web

UNAUTHORIZED = "missing or unknown bearer token: send Authorization: Bearer <token>"


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def unauthorized() -> web.Response:
    return error(401, UNAUTHORIZED)
