"""The recipe catalogue: one TOML file per recipe in `catalogue/`, shipped as
package data and read once per process."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable

from scriptbuilder_service.domain.recipe_matching import RecipeIndex
from scriptbuilder_service.domain.recipes import Recipe, RecipeError, check_unique, parse_recipe

CATALOGUE = "catalogue"


def recipe_files() -> list[Traversable]:
    folder = resources.files(__package__) / CATALOGUE
    return sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)


def read_recipe(file: Traversable) -> Recipe:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {file.name}: {exc}") from None
    return parse_recipe(data, source=file.name.removesuffix(".toml"))


@lru_cache(maxsize=1)
def load_recipes() -> tuple[Recipe, ...]:
    """Every recipe, checked; a broken file fails loudly at start-up."""
    recipes = tuple(read_recipe(f) for f in recipe_files())
    check_unique(recipes)
    return recipes


@lru_cache(maxsize=1)
def load_index() -> RecipeIndex:
    """The catalogue's search index, built once per process."""
    return RecipeIndex(load_recipes())
