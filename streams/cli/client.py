"""A small client of the worker's HTTP API, used by the CLI (and by tests)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from streams.auth import client_token
from streams.errors import TurnoutError
from streams.settings import Settings


class ApiError(TurnoutError):
    """The worker answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, settings: Settings, token: str | None = None, timeout: float = 60) -> None:
        self.base = settings.api.rstrip("/")
        self._token = token
        self._settings = settings
        self.http = httpx.Client(timeout=timeout)

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = client_token(self._settings)
        return self._token

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, self.base + path, headers=headers, **kwargs)
        except httpx.HTTPError as err:
            raise ApiError(
                f"cannot reach the worker at {self.base}: {err}; is `turnout up` running?"
            ) from err
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise ApiError(f"{response.status_code}: {message}", response.status_code)
        return response.json()

    def post_events(self, events: Iterable[Any]) -> dict[str, Any]:
        body = msgspec.json.encode(list(events))
        return self._request(  # type: ignore[no-any-return]
            "POST", "/v1/events", content=body, headers={"Content-Type": "application/json"}
        )

    def election(self, election_id: str, endpoint: str, **params: Any) -> dict[str, Any]:
        """GET /v1/elections/{election_id}/{endpoint}, leaving out parameters that are None."""
        query = {k: v for k, v in params.items() if v is not None}
        path = f"/v1/elections/{quote(election_id, safe='')}/{endpoint}"
        return self._request("GET", path, params=query)  # type: ignore[no-any-return]

    def turnout_gap(self, election_id: str, **params: Any) -> dict[str, Any]:
        return self.election(election_id, "turnout-gap", **params)

    def knockup(self, election_id: str, **params: Any) -> dict[str, Any]:
        return self.election(election_id, "knockup", **params)

    def sql(self, text: str) -> dict[str, Any]:
        return self._request("POST", "/v1/sql", json={"sql": text})  # type: ignore[no-any-return]

    def health(self) -> dict[str, Any]:
        try:
            response = self.http.get(self.base + "/v1/health")
        except httpx.HTTPError as err:
            raise ApiError(f"cannot reach the worker at {self.base}: {err}") from err
        return response.json()  # type: ignore[no-any-return]

    def wait_caught_up(self, timeout: float = 120) -> None:
        """Until the worker has processed everything in turnout.events."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.health().get("caught_up"):
                return
            time.sleep(0.25)
        raise ApiError(f"the worker did not catch up within {timeout:.0f}s; see `turnout status`")

    def start_replay(self) -> dict[str, Any]:
        return self._request("POST", "/v1/replay")  # type: ignore[no-any-return]

    def replay_status(self) -> dict[str, Any]:
        return self._request("GET", "/v1/replay")  # type: ignore[no-any-return]

    def export_subject(self, election_id: str, elector_id: str) -> dict[str, Any]:
        path = f"/v1/elections/{quote(election_id, safe='')}/electors/{quote(elector_id, safe='')}"
        return self._request("GET", path + "/export")  # type: ignore[no-any-return]

    def erase(self, election_id: str, elector_id: str) -> dict[str, Any]:
        path = f"/v1/elections/{quote(election_id, safe='')}/electors/{quote(elector_id, safe='')}"
        return self._request("DELETE", path)  # type: ignore[no-any-return]

    def purge(self, election_id: str | None = None) -> dict[str, Any]:
        params = {"election_id": election_id} if election_id else {}
        return self._request("POST", "/v1/purge", params=params)  # type: ignore[no-any-return]

    def elections(self) -> dict[str, Any]:
        return self._request("GET", "/v1/elections")  # type: ignore[no-any-return]

    def seal(self, events: Iterable[Any]) -> dict[str, Any]:
        body = msgspec.json.encode(list(events))
        return self._request(  # type: ignore[no-any-return]
            "POST", "/v1/seal", content=body, headers={"Content-Type": "application/json"}
        )

    def audit(self, election_id: str | None = None, limit: int = 1000) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if election_id:
            params["election_id"] = election_id
        return self._request("GET", "/v1/audit", params=params)  # type: ignore[no-any-return]
