"""Running the service in a background thread on a loopback port (demo, tests,
benchmarks): a real uvicorn server, a real socket, the real lifespan."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from app.expansion import count_waiting


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceThread:
    def __init__(self, app: FastAPI, *, port: int | None = None):
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            access_log=False,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout_s: float = 15.0) -> ServiceThread:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.01)
        return self

    def settled(self, *, timeout_s: float = 10.0) -> None:
        """Wait until every event answered so far has its alerts written."""
        store = self.server.config.app.state.store
        deadline = time.monotonic() + timeout_s
        while store.read_sync(count_waiting):
            if time.monotonic() > deadline:
                raise TimeoutError("events are still waiting for their alerts")
            time.sleep(0.005)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
