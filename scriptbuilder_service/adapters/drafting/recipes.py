"""The default drafter: vetted recipes from the catalogue, no model needed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from scriptbuilder_service.domain.drafting import Draft, DraftChunk, DraftRequest, answer_pieces
from scriptbuilder_service.domain.recipe_drafting import draft_with_recipes
from scriptbuilder_service.domain.recipe_matching import RecipeIndex
from scriptbuilder_service.recipes import load_index


class RecipeDrafter:
    name = "recipes"

    def __init__(self, index: RecipeIndex | None = None) -> None:
        # Loading checks every recipe: a broken catalogue fails at start-up.
        self._index = index or load_index()

    @property
    def index(self) -> RecipeIndex:
        return self._index

    async def draft(self, request: DraftRequest) -> Draft:
        return draft_with_recipes(request, self._index)

    async def stream(self, request: DraftRequest) -> AsyncIterator[DraftChunk]:
        # Drafting from recipes is instant: the answer goes out in a few
        # pieces (the explanation, the script), then the finished draft.
        draft = await self.draft(request)
        for piece in answer_pieces(draft.content):
            yield DraftChunk(text=piece)
        yield DraftChunk(draft=draft)

    async def aclose(self) -> None:
        return None
