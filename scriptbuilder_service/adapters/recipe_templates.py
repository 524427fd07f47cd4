"""The starter template library: the recipe catalogue as published templates
of an account (`flowpilot templates import`).

One template per recipe and language, keyed by (account, recipe id,
language). Importing again creates what is missing, rewrites a template whose
recipe changed since (its digest differs) and leaves the others untouched,
all in one transaction. Templates whose recipe left the catalogue are
reported as stale and kept: fixes may point at them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.validation import check_text
from scriptbuilder_service.adapters.tables import templates
from scriptbuilder_service.domain.recipes import Recipe
from scriptbuilder_service.domain.templates import NewTemplate

DEFAULT_IMPORTER = "flowpilot-catalogue"
MAX_ID = 255  # the user and account id columns


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class ImportedTemplate:
    recipe_id: str
    language: ScriptLanguage
    template_id: uuid.UUID
    outcome: Outcome


def digest(template: NewTemplate) -> str:
    """What the template holds from its recipe, as one hash."""
    content = {
        "name": template.name,
        "description": template.description,
        "language": template.language.value,
        "body": template.body,
        "parameters": [p.to_json() for p in template.parameters],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


async def _import_one(
    conn: AsyncConnection, recipe: Recipe, language: ScriptLanguage, account_id: str, user_id: str
) -> ImportedTemplate:
    new = recipe.template(language)
    values = {
        "account_id": account_id,
        "created_by_user_id": user_id,
        "name": new.name,
        "description": new.description,
        "language": language.value,
        "body": new.body,
        "parameters": [p.to_json() for p in new.parameters],
        "status": new.status.value,
        "source_recipe_id": recipe.id,
        "source_recipe_digest": digest(new),
    }
    insert = pg_insert(templates).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[templates.c.account_id, templates.c.source_recipe_id, templates.c.language],
        index_where=templates.c.source_recipe_id.is_not(None),
        set_={
            "name": insert.excluded.name,
            "description": insert.excluded.description,
            "body": insert.excluded.body,
            "parameters": insert.excluded.parameters,
            "source_recipe_digest": insert.excluded.source_recipe_digest,
            "updated_at": func.now(),
        },
        # Only a recipe that changed rewrites its template.
        where=templates.c.source_recipe_digest.is_distinct_from(
            insert.excluded.source_recipe_digest
        ),
    ).returning(templates.c.id, templates.c.created_at == templates.c.updated_at)
    row = (await conn.execute(statement)).first()
    if row is not None:
        outcome = Outcome.CREATED if row[1] else Outcome.UPDATED
        return ImportedTemplate(recipe.id, language, row[0], outcome)
    existing = (
        await conn.execute(
            select(templates.c.id).where(
                templates.c.account_id == account_id,
                templates.c.source_recipe_id == recipe.id,
                templates.c.language == language.value,
            )
        )
    ).scalar_one()
    return ImportedTemplate(recipe.id, language, existing, Outcome.UNCHANGED)


async def import_recipes(
    conn: AsyncConnection, recipes: Sequence[Recipe], *, account_id: str, user_id: str
) -> list[ImportedTemplate]:
    """Runs on the caller's transaction; returns one line per template, the
    stale ones last."""
    account_id = check_text(account_id.strip(), "account", max_len=MAX_ID, not_blank=True)
    user_id = check_text(user_id.strip(), "user", max_len=MAX_ID, not_blank=True)
    results = [
        await _import_one(conn, recipe, language, account_id, user_id)
        for recipe in recipes
        for language in recipe.languages
    ]
    current = {(r.id, lang.value) for r in recipes for lang in r.languages}
    rows = await conn.execute(
        select(templates.c.id, templates.c.source_recipe_id, templates.c.language)
        .where(templates.c.account_id == account_id, templates.c.source_recipe_id.is_not(None))
        .order_by(templates.c.source_recipe_id, templates.c.language)
    )
    results += [
        ImportedTemplate(recipe_id, ScriptLanguage(language), template_id, Outcome.STALE)
        for template_id, recipe_id, language in rows
        if (recipe_id, language) not in current
    ]
    return results


async def run_import(
    engine: AsyncEngine,
    recipes: Sequence[Recipe],
    *,
    account_id: str,
    user_id: str = DEFAULT_IMPORTER,
    dry_run: bool = False,
) -> list[ImportedTemplate]:
    """One transaction: all templates or none; a dry run rolls it back."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            results = await import_recipes(conn, recipes, account_id=account_id, user_id=user_id)
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
        return results
