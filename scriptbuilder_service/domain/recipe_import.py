"""The starter template library: the recipe catalogue as published templates
of an account (`flowpilot templates import`), as pure rules.

One template per recipe and language, keyed by (account, recipe id,
language). Importing again creates what is missing, rewrites a template whose
recipe changed since (its digest differs) and leaves the others untouched.
Templates whose recipe left the catalogue are reported as stale and kept:
fixes may point at them. The service layer runs the import in one unit of
work (`TemplateImportService`), the repository writes it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.validation import check_text
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


def check_importer(account_id: str, user_id: str) -> tuple[str, str]:
    """The account that gets the templates and the user recorded as their
    creator, trimmed and bounded."""
    return (
        check_text(account_id.strip(), "account", max_len=MAX_ID, not_blank=True),
        check_text(user_id.strip(), "user", max_len=MAX_ID, not_blank=True),
    )


def stale(
    recipes: Sequence[Recipe], imported: Iterable[tuple[uuid.UUID, str, ScriptLanguage]]
) -> list[ImportedTemplate]:
    """Of an account's imported templates (id, recipe id, language), those
    whose recipe or language is no longer in the catalogue."""
    current = {(r.id, language) for r in recipes for language in r.languages}
    return [
        ImportedTemplate(recipe_id, language, template_id, Outcome.STALE)
        for template_id, recipe_id, language in imported
        if (recipe_id, language) not in current
    ]
