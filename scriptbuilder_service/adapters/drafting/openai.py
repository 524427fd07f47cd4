"""An OpenAI-compatible chat-completions provider (OpenAI, vLLM, Ollama,
llama.cpp server, ...): `POST {base_url}/chat/completions`."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from flowpilot.runtime.errors import Unavailable
from flowpilot.runtime.settings import Settings
from scriptbuilder_service.domain.drafting import DraftRequest, context_note, system_prompt

log = logging.getLogger("flowpilot.scriptbuilder.drafting")


class OpenAIChatProvider:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = model
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIChatProvider:
        if not settings.openai_base_url or not settings.openai_model:
            raise RuntimeError(
                "FLOWPILOT_DRAFTER=openai needs FLOWPILOT_OPENAI_BASE_URL and "
                "FLOWPILOT_OPENAI_MODEL"
            )
        return cls(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            timeout_seconds=settings.openai_timeout_seconds,
        )

    def messages(self, request: DraftRequest) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": system_prompt(request.language)}]
        note = context_note(request)
        if note:
            messages.append({"role": "system", "content": note})
        messages += [{"role": t.role.value, "content": t.content} for t in request.history]
        messages.append({"role": "user", "content": request.message})
        return messages

    async def draft(self, request: DraftRequest) -> str:
        payload: dict[str, Any] = {
            "model": self._model,
            "messages": self.messages(request),
            "temperature": 0.2,
        }
        try:
            response = await self._client.post("chat/completions", json=payload)
        except httpx.TimeoutException as exc:
            raise Unavailable(
                "DRAFTER_TIMEOUT", "the drafting model did not answer in time"
            ) from exc
        except httpx.HTTPError as exc:
            raise Unavailable(
                "DRAFTER_UNAVAILABLE", f"the drafting model cannot be reached: {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            log.warning("drafter answered %s", response.status_code)
            raise Unavailable(
                "DRAFTER_UNAVAILABLE",
                f"the drafting model answered HTTP {response.status_code}",
                metadata={"http_status": str(response.status_code)},
            )
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise Unavailable(
                "DRAFTER_BAD_RESPONSE", "the drafting model gave an answer we cannot read"
            ) from exc
        if not isinstance(content, str) or not content.strip():
            raise Unavailable("DRAFTER_BAD_RESPONSE", "the drafting model gave an empty answer")
        return content

    async def aclose(self) -> None:
        await self._client.aclose()
