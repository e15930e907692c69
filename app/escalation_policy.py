"""Escalation as policy: who is paged, over which channels, after how long.

The policy lives in the rooms file under ``escalation:`` and is copied onto each
alert when it is created, so that a change to the file never alters an alert in
flight. A step says "after N minutes without an acknowledgement, notify these
targets"; after the last step, ``repeat`` pages its targets again every few minutes
until a person acknowledges.

Targets:

- ``routed_room``: the rooms the alert was routed to, over their channels;
- ``on_shift``: the officers on shift at each routed room (SMS to each);
- ``room_alternate``: each routed room's alternate numbers (SMS);
- ``duty_officer``: each routed room's district duty officer (SMS);
- ``fallback_room``: the state fallback room, over its channels;
- ``supervisor``: each routed room's supervisor (SMS).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Target = Literal[
    "routed_room",
    "on_shift",
    "room_alternate",
    "duty_officer",
    "fallback_room",
    "supervisor",
]
Channel = Literal["http", "sms"]

ROOM_TARGETS = ("routed_room", "fallback_room")


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: Target
    channels: list[Channel] = Field(default_factory=lambda: ["sms"], min_length=1)

    @model_validator(mode="after")
    def _people_take_sms(self) -> Notify:
        if self.target not in ROOM_TARGETS and self.channels != ["sms"]:
            raise ValueError(f"{self.target} is a person or a number: channels [sms]")
        return self


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_minutes: float = Field(ge=0)
    notify: list[Notify] = Field(min_length=1)


class Repeat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    every_minutes: float = Field(gt=0)
    notify: list[Notify] = Field(min_length=1)


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[Step] = Field(min_length=1)
    repeat: Repeat | None = None

    @model_validator(mode="after")
    def _in_order(self) -> EscalationPolicy:
        times = [step.after_minutes for step in self.steps]
        if times[0] != 0:
            raise ValueError("the first step is at 0 minutes: an alert pages at once")
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("steps must come at strictly increasing minutes")
        return self

    def step(self, level: int) -> Step | Repeat:
        """The step at ``level``; every level past the last step is the repeat."""
        if level < len(self.steps):
            return self.steps[level]
        if self.repeat is None:
            raise IndexError(level)
        return self.repeat

    def minutes_until(self, level: int) -> float | None:
        """Minutes after the step at ``level - 1`` that the step at ``level`` is
        due, or None when there is no such step."""
        if level < len(self.steps):
            return self.steps[level].after_minutes - self.steps[level - 1].after_minutes
        if self.repeat is None:
            return None
        return self.repeat.every_minutes

    def to_stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _n(target: str, *channels: str) -> Notify:
    return Notify(target=target, channels=list(channels) or ["sms"])  # type: ignore[arg-type]


# The documented default. The people and numbers it pages come from the rooms file,
# where every one is a placeholder for the police to set.
DEFAULT_POLICY = EscalationPolicy(
    steps=[
        Step(
            after_minutes=0, notify=[_n("routed_room", "http", "sms"), _n("on_shift")]
        ),
        Step(after_minutes=3, notify=[_n("room_alternate"), _n("duty_officer")]),
        Step(after_minutes=6, notify=[_n("fallback_room", "http", "sms")]),
        Step(after_minutes=10, notify=[_n("supervisor")]),
    ],
    repeat=Repeat(
        every_minutes=5,
        notify=[
            _n("routed_room", "http", "sms"),
            _n("on_shift"),
            _n("duty_officer"),
            _n("supervisor"),
        ],
    ),
)

# A test alert reaches the test room only, once: nobody is paged for a drill
# unless they chose to be.
TEST_POLICY = EscalationPolicy(
    steps=[Step(after_minutes=0, notify=[_n("routed_room", "http", "sms")])]
)
