"""An OpenAI-compatible chat-completions provider (OpenAI, vLLM, Ollama,
llama.cpp server, ...): `POST {base_url}/chat/completions`.

It keeps the drafter's output contract (script, language, typed parameters,
explanation, recipe id) by asking for structured output, in this order:

1. `response_format: {type: json_schema, strict}`;
2. when the server refuses that (HTTP 400), a forced tool call whose
   arguments follow the same schema;
3. when it refuses tools too, the plain answer: prose plus a fenced block,
   whose placeholders become required string parameters.

The first mode the server accepts is remembered for the provider's lifetime.
An answer that does not parse as the schema is read as plain text. The best
recipes of the catalogue go with every request as context (data, not
instructions), and the model may adapt one and name it.

`stream` asks for the plain answer with `stream: true` and yields its text
as the server sends it (server-sent events), then the finished draft.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

import httpx

from flowpilot.runtime.errors import Unavailable
from flowpilot.runtime.settings import Settings
from scriptbuilder_service.domain.drafting import (
    DRAFT_JSON_SCHEMA,
    STRUCTURED_OUTPUT_NOTE,
    Draft,
    DraftChunk,
    DraftRequest,
    context_note,
    draft_from_answer,
    draft_from_json,
    system_prompt,
    target_language,
)
from scriptbuilder_service.domain.recipe_drafting import best_recipes, recipes_note
from scriptbuilder_service.domain.recipe_matching import RecipeIndex

log = logging.getLogger("flowpilot.scriptbuilder.drafting")

TOOL_NAME = "submit_script_draft"
RECIPES_IN_CONTEXT = 3


class OutputMode(StrEnum):
    JSON_SCHEMA = "json_schema"
    TOOL = "tool"
    TEXT = "text"


_FALLBACK = {OutputMode.JSON_SCHEMA: OutputMode.TOOL, OutputMode.TOOL: OutputMode.TEXT}


class _Refused(Exception):
    """The server refused the request's output mode (HTTP 400)."""


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
        index: RecipeIndex | None = None,
        mode: OutputMode = OutputMode.JSON_SCHEMA,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = model
        self._index = index
        self.mode = mode
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
        from scriptbuilder_service.recipes import load_index

        return cls(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            timeout_seconds=settings.openai_timeout_seconds,
            index=load_index(),
        )

    def _recipe_ids(self, request: DraftRequest) -> frozenset[str]:
        if self._index is None:
            return frozenset()
        return frozenset(
            m.recipe.id for m in best_recipes(request, self._index, RECIPES_IN_CONTEXT)
        )

    def messages(
        self, request: DraftRequest, mode: OutputMode = OutputMode.TEXT
    ) -> list[dict[str, str]]:
        language = target_language(request)
        messages = [{"role": "system", "content": system_prompt(language)}]
        if mode is not OutputMode.TEXT:
            messages.append({"role": "system", "content": STRUCTURED_OUTPUT_NOTE})
        note = context_note(request)
        if note:
            messages.append({"role": "system", "content": note})
        if self._index is not None:
            recipes = recipes_note(best_recipes(request, self._index, RECIPES_IN_CONTEXT), language)
            if recipes:
                messages.append({"role": "system", "content": recipes})
        messages += [{"role": t.role.value, "content": t.content} for t in request.history]
        messages.append({"role": "user", "content": request.message})
        return messages

    def payload(self, request: DraftRequest, mode: OutputMode) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self._model,
            "messages": self.messages(request, mode),
            "temperature": 0.2,
        }
        if mode is OutputMode.JSON_SCHEMA:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "script_draft",
                    "strict": True,
                    "schema": DRAFT_JSON_SCHEMA,
                },
            }
        elif mode is OutputMode.TOOL:
            payload["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": TOOL_NAME,
                        "description": "Hand back the drafted script and its explanation.",
                        "parameters": DRAFT_JSON_SCHEMA,
                    },
                }
            ]
            payload["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
        return payload

    async def _post(self, payload: dict[str, Any], *, refusable: bool) -> dict[str, Any]:
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
        if response.status_code in (400, 422) and refusable:
            raise _Refused(response.text[:200])
        if response.status_code != 200:
            log.warning("drafter answered %s", response.status_code)
            raise Unavailable(
                "DRAFTER_UNAVAILABLE",
                f"the drafting model answered HTTP {response.status_code}",
                metadata={"http_status": str(response.status_code)},
            )
        try:
            message = response.json()["choices"][0]["message"]
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
            return message
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise Unavailable(
                "DRAFTER_BAD_RESPONSE", "the drafting model gave an answer we cannot read"
            ) from exc

    def _read(self, message: dict[str, Any], request: DraftRequest) -> Draft:
        """The draft in a chat message: tool-call arguments, JSON content, or
        prose with a fenced block, whichever the message holds."""
        language = target_language(request)
        known = self._recipe_ids(request)
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and function.get("name") == TOOL_NAME:
                try:
                    draft = draft_from_json(
                        json.loads(function.get("arguments") or ""), language, known
                    )
                except ValueError:
                    draft = None
                if draft is not None:
                    return draft
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise Unavailable("DRAFTER_BAD_RESPONSE", "the drafting model gave an empty answer")
        try:
            data = json.loads(content)
        except ValueError:
            # A server that ignores response_format answers in prose.
            return draft_from_answer(content, language)
        draft = draft_from_json(data, language, known)
        if draft is None:
            raise Unavailable(
                "DRAFTER_BAD_RESPONSE", "the drafting model's answer does not follow the schema"
            )
        return draft

    async def draft(self, request: DraftRequest) -> Draft:
        mode = self.mode
        while True:
            try:
                message = await self._post(
                    self.payload(request, mode), refusable=mode is not OutputMode.TEXT
                )
            except _Refused as refusal:
                log.info("drafter refused %s output (%s); falling back", mode, refusal)
                mode = _FALLBACK[mode]
                self.mode = mode
                continue
            return self._read(message, request)

    async def stream(self, request: DraftRequest) -> AsyncIterator[DraftChunk]:
        """The plain answer as the server streams it, then the finished draft."""
        payload = self.payload(request, OutputMode.TEXT) | {"stream": True}
        parts: list[str] = []
        try:
            async with self._client.stream("POST", "chat/completions", json=payload) as response:
                if response.status_code != 200:
                    raise Unavailable(
                        "DRAFTER_UNAVAILABLE",
                        f"the drafting model answered HTTP {response.status_code}",
                        metadata={"http_status": str(response.status_code)},
                    )
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        delta = json.loads(data)["choices"][0]["delta"].get("content") or ""
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                        continue
                    if delta:
                        parts.append(delta)
                        yield DraftChunk(text=delta)
        except httpx.TimeoutException as exc:
            raise Unavailable(
                "DRAFTER_TIMEOUT", "the drafting model did not answer in time"
            ) from exc
        except httpx.HTTPError as exc:
            raise Unavailable(
                "DRAFTER_UNAVAILABLE", f"the drafting model cannot be reached: {type(exc).__name__}"
            ) from exc
        answer = "".join(parts)
        if not answer.strip():
            raise Unavailable("DRAFTER_BAD_RESPONSE", "the drafting model gave an empty answer")
        yield DraftChunk(draft=draft_from_answer(answer, target_language(request)))

    async def aclose(self) -> None:
        await self._client.aclose()
