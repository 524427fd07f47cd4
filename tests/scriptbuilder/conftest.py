"""Fixtures of the script-builder tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings

TEXT_ANSWER = "Restarts the spooler.\n```bash\nsystemctl restart cups\n```"
# What the fake model answers when asked for structured output.
STRUCTURED_ANSWER = {
    "explanation": "Restarts the unit and shows its state.",
    "script": "systemctl restart -- {{unit}}\nsystemctl is-active -- {{unit}}",
    "language": "bash",
    "parameters": [
        {
            "name": "unit",
            "type": "string",
            "required": False,
            "default": "cups",
            "choices": [],
            "description": "The systemd unit.",
        }
    ],
    "recipe_id": "restart-systemd-unit",
}


@dataclass
class ChatServer:
    """A tiny chat-completions endpoint on 127.0.0.1 (asyncio streams, real HTTP).

    `supports` says which structured outputs it accepts (`json_schema`,
    `tools`); a request for another one is refused with HTTP 400, as vLLM
    and older servers do. `stream: true` is answered with server-sent events;
    `stall_after` stops such a stream after that many pieces until the client
    hangs up (`hung_up` is then set). `mode` makes it fail: `slow`, `error`
    (500) or `garbage`."""

    mode: str = "ok"
    supports: set[str] = field(default_factory=lambda: {"json_schema", "tools"})
    # Accepts response_format but answers in prose anyway (older servers).
    ignores_format: bool = False
    structured: dict[str, Any] = field(default_factory=lambda: dict(STRUCTURED_ANSWER))
    text: str = TEXT_ANSWER
    requests: list[dict[str, Any]] = field(default_factory=list)
    stall_after: int | None = None
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def _answer(self, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.mode == "error":
            return "500 Internal Server Error", {"error": "boom"}
        if self.mode == "garbage":
            return "200 OK", {"unexpected": True}
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if "response_format" in request and not self.ignores_format:
            if "json_schema" not in self.supports:
                return "400 Bad Request", {"error": {"message": "response_format not supported"}}
            message["content"] = json.dumps(self.structured)
        elif "tools" in request:
            if "tools" not in self.supports:
                return "400 Bad Request", {"error": {"message": "tools are not supported"}}
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call-1",
                        "type": "function",
                        "function": {
                            "name": request["tool_choice"]["function"]["name"],
                            "arguments": json.dumps(self.structured),
                        },
                    }
                ],
            }
        return "200 OK", {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message}],
        }

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        pieces = [self.text[i : i + 7] for i in range(0, len(self.text), 7)]
        events = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
        frames = [*(f"data: {json.dumps(e)}\n\n" for e in events), "data: [DONE]\n\n"]
        for index, event in enumerate(frames):
            if index == self.stall_after:
                await reader.read()  # until the client hangs up
                self.hung_up.set()
                return
            data = event.encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (x.partition(":") for x in lines[1:] if x)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = json.loads(body)
            self.headers.append(headers)
            self.requests.append({"path": lines[0].split()[1], **request})
            if self.mode == "slow":
                await asyncio.sleep(5)
            if request.get("stream") and self.mode == "ok":
                await self._stream(reader, writer)
                await writer.drain()
                return
            status, payload = self._answer(request)
            data = json.dumps(payload).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def chat_server() -> AsyncIterator[ChatServer]:
    state = ChatServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def model_server(
    settings: Settings, scriptbuilder_db_url: str, fixes_server: GrpcServer, chat_server: ChatServer
) -> AsyncIterator[GrpcServer]:
    """The script-builder with a model behind it: the fake chat-completions server."""
    from scriptbuilder_service.adapters.drafting.openai import OpenAIChatProvider
    from scriptbuilder_service.main import create_server
    from scriptbuilder_service.recipes import load_index

    drafter = OpenAIChatProvider(base_url=chat_server.url, model="tiny", index=load_index())
    server = await create_server(
        settings,
        database_url=scriptbuilder_db_url,
        fixes_target=fixes_server.target,
        port=0,
        drafter=drafter,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)
