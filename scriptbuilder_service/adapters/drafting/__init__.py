"""Drafting providers behind one small interface, chosen by configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from flowpilot.runtime.settings import Drafter, Settings
from scriptbuilder_service.domain.drafting import Draft, DraftChunk, DraftRequest


class DraftingProvider(Protocol):
    """Turns a conversation into a draft: the script, its language, its typed
    parameters and an explanation (`Draft`); no script means a question.

    `stream` yields the same answer in pieces as it is produced, the last
    piece carrying the finished draft (for a server-streaming RPC)."""

    name: str

    async def draft(self, request: DraftRequest) -> Draft: ...

    def stream(self, request: DraftRequest) -> AsyncIterator[DraftChunk]: ...

    async def aclose(self) -> None: ...


def provider_from_settings(settings: Settings) -> DraftingProvider:
    if settings.drafter is Drafter.OPENAI:
        from scriptbuilder_service.adapters.drafting.openai import OpenAIChatProvider

        return OpenAIChatProvider.from_settings(settings)
    from scriptbuilder_service.adapters.drafting.recipes import RecipeDrafter

    return RecipeDrafter()
