"""Reading server-sent events as a client does (the WHATWG parsing rules,
enough of them for our streams): events end at a blank line; `:` lines are
comments; `data:` lines join with newlines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    data: str = ""
    event: str = "message"
    id: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.data)


def parse(text: str) -> list[Event]:
    """Every complete event of a stream's text (comments ride on the next)."""
    events: list[Event] = []
    current = Event()
    data: list[str] = []
    for line in text.split("\n"):
        if line == "":
            if data:
                current.data = "\n".join(data)
                events.append(current)
                current, data = Event(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "data":
            data.append(value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
    return events


async def read_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Events as they arrive, from a response's `aiter_lines()`."""
    current = Event()
    data: list[str] = []
    async for line in lines:
        if line == "":
            if data:
                current.data = "\n".join(data)
                yield current
                current, data = Event(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "data":
            data.append(value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
