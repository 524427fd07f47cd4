"""Drafting providers behind one small interface, chosen by configuration."""

from __future__ import annotations

from typing import Protocol

from flowpilot.runtime.settings import Drafter, Settings
from scriptbuilder_service.domain.drafting import DraftRequest


class DraftingProvider(Protocol):
    """Turns a conversation into an answer: prose plus a fenced script."""

    name: str

    async def draft(self, request: DraftRequest) -> str: ...

    async def aclose(self) -> None: ...


def provider_from_settings(settings: Settings) -> DraftingProvider:
    if settings.drafter is Drafter.OPENAI:
        from scriptbuilder_service.adapters.drafting.openai import OpenAIChatProvider

        return OpenAIChatProvider.from_settings(settings)
    from scriptbuilder_service.adapters.drafting.offline import OfflineDrafter

    return OfflineDrafter()
