"""The gateway's HTTP metrics and request spans.

`observe_app(app)` adds, innermost first:

* `HttpMetrics`: requests and their latency by method, route *template* (the
  route Starlette matched, e.g. `/api/v1/ai-sessions/{session_id}`; never the
  raw path) and status, and `flowpilot_inflight_requests`. A response that
  turns out to be a live-update subscription (an event stream on a
  `...:watch` route) stops counting as a request in flight once its head is
  sent and counts as a `flowpilot_live_update_subscribers{stream="sse"}`
  until it ends;
* while tracing is on (`flowpilot.runtime.tracing`), OpenTelemetry's ASGI
  middleware: a server span per request, continuing the caller's
  `traceparent`, renamed after its route template once routed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowpilot.runtime import tracing
from flowpilot.runtime.metrics import INFLIGHT, LATENCY_BUCKETS, LIVE_UPDATE_SUBSCRIBERS

HTTP_REQUESTS = Counter(
    "flowpilot_http_requests_total",
    "HTTP requests the gateway answered, by method, route template and status.",
    ("method", "route", "status"),
)
HTTP_DURATION = Histogram(
    "flowpilot_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response (to the head "
    "for live-update streams), by method, route template and status.",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
)
# Anything else a client sends is counted as OTHER (bounded labels).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
EVENT_STREAM = b"text/event-stream"
# The routes of live-update subscriptions (`.../events:watch`); other event
# streams (a streamed chat answer) are requests in flight until they end.
WATCH_SUFFIX = ":watch"


class HttpMetrics:
    """Pure ASGI middleware (no per-request task or body buffering)."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[Any]]) -> None:
        self._app = app
        self._routes = routes
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._by_endpoint: dict[Any, list[Any]] = {}
        self._sse = LIVE_UPDATE_SUBSCRIBERS.labels("sse")

    def _template(self, scope: Scope) -> str:
        """The path template of the route that served the request. FastAPI's
        router leaves the matched endpoint (not the route) in the scope; an
        endpoint serving several paths (the console's pages) is told apart by
        their patterns."""
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        candidates = self._by_endpoint.get(endpoint)
        if candidates is None:
            candidates = [r for r in self._routes() if getattr(r, "endpoint", None) == endpoint]
            self._by_endpoint[endpoint] = candidates
        if len(candidates) == 1:
            return str(candidates[0].path)
        for candidate in candidates:
            if candidate.path_regex.match(scope["path"]):
                return str(candidate.path)
        return UNMATCHED

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = (HTTP_REQUESTS.labels(*labels), HTTP_DURATION.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        status = 500
        streaming = False
        observed = False
        INFLIGHT.inc()

        async def observing_send(message: Message) -> None:
            nonlocal status, streaming, observed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers") or ())
                if headers.get(b"content-type", b"").startswith(EVENT_STREAM) and self._template(
                    scope
                ).endswith(WATCH_SUFFIX):
                    # A live-update subscription: its head is its latency.
                    streaming = observed = True
                    INFLIGHT.dec()
                    self._sse.inc()
                    self._observe(
                        method, self._template(scope), status, time.perf_counter() - started
                    )
            await send(message)

        try:
            await self._app(scope, receive, observing_send)
        finally:
            template = self._template(scope)
            if template != UNMATCHED:
                tracing.name_span_after_route(scope["method"], template)
            if streaming:
                self._sse.dec()
            else:
                INFLIGHT.dec()
            if not observed:
                self._observe(method, template, status, time.perf_counter() - started)


def observe_app(app: Any) -> None:
    """Adds the HTTP metrics and, while tracing is on, the request spans."""
    app.add_middleware(HttpMetrics, routes=lambda: app.router.routes)
    spans = tracing.asgi_middleware()
    if spans is not None:
        middleware, options = spans
        app.add_middleware(middleware, **options)  # added last: the outermost
