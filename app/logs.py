"""Structured logs: fixed snake_case event names with fields, JSON in production.

No log line carries personal data or a secret: fields are references, room ids,
counts, states and fixed error codes.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import structlog

_CRASH_FRAMES = 12


def crash_fields(exc: BaseException) -> dict[str, Any]:
    """What a log line may say of an unexpected exception: its type and where it was
    raised, frame by frame, but not its message (and not its causes' messages),
    which may quote whatever it was handling: a payload, a phone number, a key."""
    frames = traceback.extract_tb(exc.__traceback__)[-_CRASH_FRAMES:]
    where = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames]
    return {"error": type(exc).__name__, "stack": where}


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
