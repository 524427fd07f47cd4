"""Server-sent events (the WHATWG `text/event-stream` format) for
server-streaming RPCs: framing, the response that carries them, and the
per-process bound on open streams (docs/gateway.md, "Server-sent events").

One event per streamed message:

    id: 42                      (the message's `event_id`, when set)
    event: fix_updated          (its `kind`, or the member set in its oneof)
    data: {"event_id":42,...}   (the message as the REST surface writes it)

A comment line (`: ping`) keeps an idle stream alive through proxies; after
an error, `event: error` carries the usual error body and the stream ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

log = logging.getLogger("flowpilot.gateway.sse")

EVENT_STREAM = "text/event-stream"
HEARTBEAT = b": ping\n\n"
ERROR_EVENT = "error"
# Proxies must neither cache nor buffer an event stream (nginx reads the last).
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event_frame(data: bytes, *, event_id: str | None = None, event: str | None = None) -> bytes:
    """One event. `data` is one line of JSON (the codec never writes a raw
    newline); `id` and `event` are single-line tokens from the descriptors."""
    parts: list[bytes] = []
    if event_id is not None:
        parts.append(b"id: " + event_id.encode() + b"\n")
    if event is not None:
        parts.append(b"event: " + event.encode() + b"\n")
    parts.append(b"data: " + data + b"\n\n")
    return b"".join(parts)


class StreamLimiter:
    """At most `capacity` open streams in this process (0: no bound)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.open = 0
        # Set when the process shuts down: every stream ends cleanly.
        self.closing = asyncio.Event()

    def try_acquire(self) -> bool:
        if self.capacity and self.open >= self.capacity:
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1


class EventStreamResponse(Response):
    """Streams `events` and, whatever happens (the events end, the client
    goes away, the server shuts down), calls `on_close` exactly once.

    Unlike Starlette's StreamingResponse it always listens for the client's
    disconnect while it streams (ASGI 2.4 servers otherwise report a gone
    client only when a write fails, which an idle stream may not do for a
    heartbeat period), and it closes the event generator itself, so the
    gRPC call behind it is cancelled at once."""

    media_type = EVENT_STREAM

    def __init__(
        self,
        events: AsyncIterator[bytes],
        *,
        headers: Mapping[str, str],
        on_close: Callable[[], Awaitable[None]],
    ) -> None:
        self._events = events
        self._on_close = on_close
        self.status_code = 200
        self.background = None
        self.init_headers({**STREAM_HEADERS, **headers})

    async def _stream(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async for chunk in self._events:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _disconnected(receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streaming = asyncio.ensure_future(self._stream(send))
        watching = asyncio.ensure_future(self._disconnected(receive))
        try:
            await asyncio.wait({streaming, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streaming, watching):
                task.cancel()
            outcomes = await asyncio.gather(streaming, watching, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._events.aclose()  # type: ignore[attr-defined]
            await self._on_close()
        failure = outcomes[0]
        if isinstance(failure, Exception) and not isinstance(failure, OSError):
            log.warning("event stream failed", exc_info=failure)
