"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol with
bounds on reading a request.

uvicorn bounds only the idle time between requests (keep-alive). A client that
opens a connection and sends half a request head, or a head and half a body,
holds that connection (and, for a body, a request task) for as long as it
likes, and a head may grow without limit. Here, per request:

- the head (request line and headers) must arrive within `header_timeout`,
  counted from the connection's accept for its first request and from the
  first byte of each later one (the idle wait between requests stays the
  keep-alive timeout's business);
- the head is at most `max_header_bytes` (give or take one socket read);
- the body must arrive within `body_timeout` of the end of the head.

Past a bound the client gets 408 (time) or 431 (size) in the usual error body
when no response has started, and the connection is closed; a connection that
never sent a byte is just closed. The application sees a disconnect.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.errors import GRPC_NAME_BY_HTTP, error_body, error_info_detail

log = logging.getLogger("flowpilot.gateway.http")


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
        body_timeout: float,
        max_header_bytes: int,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout
        self._max_header_bytes = max_header_bytes
        self._deadline: asyncio.TimerHandle | None = None
        # Between the end of a request and the end of the next head.
        self._reading_head = True
        self._head_started = False
        self._head_bytes = 0

    # The phases of a request, as the parser reports them.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout, self._head_timed_out)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._reading_head
            and self._head_bytes > self._max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(
                431,
                "REQUEST_HEADERS_TOO_LARGE",
                f"the request line and headers exceed {self._max_header_bytes} bytes",
            )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        if self._deadline is None:
            self._arm(self._header_timeout, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_started = False
        self._head_bytes = 0
        self._arm(self._body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_head = True
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # Deadlines.

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._head_started:
            self.transport.close()  # never sent a byte: nobody to answer
            return
        self._refuse(
            408,
            "REQUEST_HEADERS_TIMEOUT",
            f"the request line and headers did not arrive within {self._header_timeout:g} s",
        )

    def _body_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self._refuse(
            408,
            "REQUEST_BODY_TIMEOUT",
            f"the request body did not arrive within {self._body_timeout:g} s",
        )

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answers `status` unless a response has started, then closes."""
        log.info("refused a slow or oversized request", extra={"reason": reason})
        cycle = self.cycle
        if self._reading_head:
            # `cycle` is the previous request's: answer once its response is out.
            answer = cycle is None or cycle.response_complete
        else:
            answer = cycle is not None and not cycle.response_started
        if answer:
            body = error_body(
                status, GRPC_NAME_BY_HTTP[status], message, [error_info_detail(reason)]
            )
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head += [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
            ]
            self.transport.write(b"".join(head) + body)
        if cycle is not None and not cycle.response_complete and not self._reading_head:
            # The application's receive() now answers http.disconnect and
            # whatever it sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()
