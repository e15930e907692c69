"""A circuit breaker per endpoint, so that one dead endpoint does not eat the workers.

``closed``: calls go through; ``failure_threshold`` failures in a row open it.
``open``: calls are refused at once for ``cooldown_s``; the delivery falls over to its
other channel or gateway instead of waiting. ``half_open``: after the cool-down one
probe goes through; its success closes the breaker, its failure opens it again.

The state is per process and in memory: a restarted process probes afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _State:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._monotonic = monotonic
        self._states: dict[str, _State] = {}

    def state(self, key: str) -> str:
        entry = self._states.get(key)
        if entry is None or entry.opened_at is None:
            return "closed"
        if self._monotonic() - entry.opened_at < self._cooldown_s:
            return "open"
        return "half_open"

    def allow(self, key: str) -> bool:
        """Whether a call to ``key`` may go out now (a half-open breaker lets one)."""
        state = self.state(key)
        if state == "closed":
            return True
        if state == "open":
            return False
        entry = self._states[key]
        if entry.probing:
            return False
        entry.probing = True
        return True

    def succeeded(self, key: str) -> None:
        self._states.pop(key, None)

    def failed(self, key: str) -> None:
        entry = self._states.setdefault(key, _State())
        entry.failures += 1
        if entry.probing or entry.failures >= self._threshold:
            entry.opened_at = self._monotonic()
        entry.probing = False
