"""The worker's side of the ingest process: start it, restart it when it dies, stop it with
the worker (docs/ingest-process.md).

The ingest process holds the public port and passes every request but `POST /v1/events` to
the worker over a private Unix socket in a folder only this user can open. If it dies, the
worker starts another at once (then after a growing pause, up to 10 s, while it keeps dying
young); requests in flight get a broken connection and are retried by the client, safely
since event ids make a resend a duplicate. If it cannot bind the public port it is not
restarted: the worker stops with that error.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from streams.errors import ConfigError
from streams.settings import Settings

log = logging.getLogger(__name__)

SOCKET_ENV = "TURNOUT_WORKER_SOCKET"  # what the ingest process is told by its worker
SECRET_ENV = "TURNOUT_INTERNAL_SECRET"
BIND_FAILED = 78  # its exit status when the public port cannot be bound (EX_CONFIG)
STOP_GRACE = 10.0  # seconds the ingest process has to finish its requests on SIGTERM
LONG_LIVED = 30.0  # a process that lived this long restarts at once if it dies
MAX_PAUSE = 10.0


class IngestProcess:
    """One ingest process, supervised from the worker's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = Path(tempfile.mkdtemp(prefix="turnout-"))  # mode 700: this user only
        self.socket = str(self.folder / "worker.sock")
        self.secret = secrets.token_urlsafe(32)
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.returncode is None else None

    async def run(self) -> None:
        """Keep the ingest process running until `stop`; ConfigError when it cannot bind."""
        pause = 0.5
        while not self._stopping:
            started = time.monotonic()
            code = await self._run_once()
            if self._stopping:
                return
            if code == BIND_FAILED:
                host, port = self.settings.api_host_port
                raise ConfigError(f"the API port {host}:{port} is in use; set TURNOUT_API "
                                  "to a free port or stop what holds it")  # fmt: skip
            self.restarts += 1
            pause = 0.5 if time.monotonic() - started > LONG_LIVED else min(pause * 2, MAX_PAUSE)
            log.warning("the ingest process exited (status %s); starting another in %.1fs",
                        code, pause)  # fmt: skip
            await asyncio.sleep(pause)

    async def _run_once(self) -> int:
        env = {**os.environ, **self.settings.to_env(), SOCKET_ENV: self.socket,
               SECRET_ENV: self.secret}  # fmt: skip
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streams.api.front", env=env, stdin=subprocess.DEVNULL
        )
        return await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_GRACE seconds; the socket's folder is removed."""
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
