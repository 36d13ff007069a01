"""``grassroots serve`` as a subprocess for tests that kill it: started, SIGKILLed, started
again, its port and its children watched."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

GRASSROOTS = str(Path(sys.executable).parent / "grassroots")
STARTUP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children_of(pid: int) -> list[str]:
    """The child processes of ``pid`` (Linux; elsewhere, none are seen)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return children.read_text().split() if children.exists() else []


class Server:
    """`grassroots serve` as a subprocess: started, SIGKILLed, started again."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development"}
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    async def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                GRASSROOTS, "serve", "--port", str(self.port), env=self.env,
                stdout=sink, stderr=sink,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited on start:\n{self.log_tail()}")
                try:
                    if (await http.get(f"{self.base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"server not healthy in {STARTUP_TIMEOUT} s:\n{self.log_tail()}")
        # `serve` runs uvicorn in its own process (uvicorn.run, no reloader, no
        # workers): the PID we hold is the one that serves, with no child to outlive it.
        assert children_of(self.process.pid) == [], "the server spawned a child process"

    async def kill(self) -> None:
        assert self.process is not None and self.process.returncode is None
        os.kill(self.process.pid, signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL
        # The killed process was the one listening: nothing answers on the port now.
        async with httpx.AsyncClient(timeout=2.0) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"{self.base}/healthz")

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
