"""``redflag-relay serve`` and ``redflag-relay worker`` in processes of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from app.demo import (
    DEMO_META_SECRETS,
    DEMO_ROOM_SECRET,
    DEMO_SMS_AUTHKEY,
    DEMO_STANDARD_SECRET,
    DEMO_VERIFY_TOKEN,
)
from app.local_server import free_port


def relay_env(*, db_url: str, room_url: str, sms_url: str, **extra: str) -> dict:
    """The environment of a demo-mode process against the fakes."""
    env = {
        **os.environ,
        "REDFLAG_DEMO_MODE": "true",
        "REDFLAG_DATABASE_URL": db_url,
        "REDFLAG_META_APP_SECRETS": ",".join(DEMO_META_SECRETS),
        "REDFLAG_META_VERIFY_TOKEN": DEMO_VERIFY_TOKEN,
        "REDFLAG_STANDARD_WEBHOOK_SECRETS": DEMO_STANDARD_SECRET,
        "REDFLAG_ROOM_BASE_URL": room_url,
        "REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET,
        "REDFLAG_SMS_GATEWAY_URL": sms_url,
        "REDFLAG_SMS_AUTHKEY": DEMO_SMS_AUTHKEY,
        "REDFLAG_SMS_TEMPLATE_ID": "1207170000000000001",
        "REDFLAG_LOG_LEVEL": "WARNING",
    }
    env.update({f"REDFLAG_{key.upper()}": value for key, value in extra.items()})
    return env


class RelayProcess:
    """One ``python -m app <command>``; ``serve`` waits for /readyz."""

    def __init__(self, command: str, env: dict[str, str]):
        self.command = command
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RelayProcess:
        args = [sys.executable, "-m", "app", self.command]
        if self.command == "serve":
            args += ["--port", str(self.port)]
        self.process = subprocess.Popen(
            args, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if self.command == "serve":
            self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None
            try:
                if httpx.get(self.url + "/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.command} did not get ready")

    def kill(self) -> None:
        """``kill -9``: no shutdown, no cleanup."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
