"""Fixtures of the script-builder tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class ChatServer:
    """A tiny chat-completions endpoint on 127.0.0.1 (asyncio streams, real HTTP)."""

    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (x.partition(":") for x in lines[1:] if x)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.headers.append(headers)
            self.requests.append({"path": lines[0].split()[1], **json.loads(body)})
            if self.mode == "slow":
                await asyncio.sleep(5)
            if self.mode == "error":
                status, payload = "500 Internal Server Error", {"error": "boom"}
            elif self.mode == "garbage":
                status, payload = "200 OK", {"unexpected": True}
            else:
                content = "Restarts the spooler.\n```bash\nsystemctl restart cups\n```"
                status, payload = (
                    "200 OK",
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": content}}
                        ],
                    },
                )
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
