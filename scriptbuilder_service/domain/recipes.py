"""Remediation recipes: vetted scripts with typed parameters, as data.

A recipe is one support fix (clear a stuck print queue, unlock an AD
account, ...) written once per language where it makes sense. Its scripts are
template bodies: `{{name}}` placeholders of typed template parameters, checked
by the same rules as any template (`templates.new_template`). Each parameter
also says how the drafter may fill it from what the engineer wrote (`fill`).

This module only turns parsed data into checked recipes; reading the files is
the catalogue loader's job (`scriptbuilder_service.recipes`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, ParameterType
from flowpilot.runtime.errors import InvalidArgument
from scriptbuilder_service.domain.templates import NewTemplate, TemplateStatus, new_template

RECIPE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
MAX_RECIPE_ID = 100


class Platform(StrEnum):
    WINDOWS = "windows"
    LINUX = "linux"
    ANY = "any"


class Fill(StrEnum):
    """How the drafter fills a parameter from the engineer's words."""

    HOST = "host"  # a computer: PRN-SRV02, web03.corp.local, 10.0.0.5, \\fs01
    FQDN = "fqdn"  # a DNS name: shop.example.com
    WINDOWS_SERVICE = "windows_service"  # W32Time, or "Windows Time" by display name
    SYSTEMD_UNIT = "systemd_unit"  # nginx, backup-agent.service
    PATH = "path"  # C:\logs, /var/log/app
    UNC_PATH = "unc_path"  # \\fs02\home$
    DRIVE_LETTER = "drive_letter"  # H: or "the H drive"
    USER = "user"  # jsmith, a.khan, CONTOSO\jsmith, jsmith@contoso.com
    PROCESS = "process"  # excel, chrome.exe
    NAME = "name"  # a name after one of the parameter's `cues`
    DAYS = "days"  # "older than 30 days"
    HOURS = "hours"  # "older than 2 days" is 48
    MINUTES = "minutes"
    SECONDS = "seconds"
    COUNT = "count"  # "top 10"
    PORT = "port"  # "port 8080", "host:443"
    SIZE = "size"  # "1G", "500 MB" as journald/systemd sizes (500M)
    CHOICE = "choice"  # an enum choice named by one of its aliases
    FLAG = "flag"  # a boolean set by its `when` / `unless` phrases


INTEGER_FILLS = {Fill.DAYS, Fill.HOURS, Fill.MINUTES, Fill.SECONDS, Fill.COUNT, Fill.PORT}


class RecipeError(ValueError):
    """A recipe file that does not describe a valid recipe."""


@dataclass(frozen=True, slots=True)
class RecipeParameter:
    parameter: Parameter
    fill: Fill | None = None
    # A filled value must match this (for example only `.conf` paths).
    pattern: re.Pattern[str] | None = None
    # NAME: the words after which the name comes ("app pool", "printer").
    cues: tuple[str, ...] = ()
    # FLAG: phrases that turn the boolean on, and phrases that turn it off.
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    # CHOICE: phrases naming each choice.
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.parameter.name


@dataclass(frozen=True, slots=True)
class Recipe:
    id: str
    title: str
    summary: str
    platform: Platform
    keywords: tuple[str, ...]
    synonyms: tuple[str, ...]
    parameters: tuple[RecipeParameter, ...]
    scripts: Mapping[ScriptLanguage, str]

    @property
    def languages(self) -> tuple[ScriptLanguage, ...]:
        return tuple(lang for lang in ScriptLanguage if lang in self.scripts)

    @property
    def template_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p.parameter for p in self.parameters)

    def parameter(self, name: str) -> RecipeParameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def template(self, language: ScriptLanguage) -> NewTemplate:
        """The recipe in one language as a published template."""
        return new_template(
            name=f"{self.title} ({LANGUAGE_LABELS[language]})",
            description=self.summary,
            language=language,
            body=self.scripts[language],
            parameters=self.template_parameters,
            status=TemplateStatus.PUBLISHED,
        )


LANGUAGE_LABELS = {
    ScriptLanguage.POWERSHELL: "PowerShell",
    ScriptLanguage.BASH: "bash",
    ScriptLanguage.PYTHON: "Python",
}


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise RecipeError(f"{where}: `{key}` must be a non-empty string")
    return value.strip()


def _texts(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RecipeError(f"{where}: `{key}` must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


_PARAMETER_KEYS = {
    "name",
    "type",
    "required",
    "default",
    "choices",
    "description",
    "fill",
    "pattern",
    "cues",
    "when",
    "unless",
    "aliases",
}


def _parameter(data: Any, where: str) -> RecipeParameter:
    if not isinstance(data, Mapping):
        raise RecipeError(f"{where}: must be a table")
    unknown = sorted(set(data) - _PARAMETER_KEYS)
    if unknown:
        raise RecipeError(f"{where}: unknown keys {', '.join(unknown)}")
    try:
        parameter = Parameter.from_json(data)
    except (KeyError, ValueError) as exc:
        raise RecipeError(f"{where}: {exc}") from None
    if not parameter.description.strip():
        raise RecipeError(f"{where}: every parameter needs a description")
    fill = None
    if "fill" in data:
        try:
            fill = Fill(data["fill"])
        except ValueError:
            raise RecipeError(f"{where}: unknown fill {data['fill']!r}") from None
    pattern = None
    if "pattern" in data:
        try:
            pattern = re.compile(_text(data, "pattern", where))
        except re.error as exc:
            raise RecipeError(f"{where}: bad pattern: {exc}") from None
    cues = _texts(data, "cues", where)
    when = _texts(data, "when", where)
    unless = _texts(data, "unless", where)
    raw_aliases = data.get("aliases", {})
    if not isinstance(raw_aliases, Mapping):
        raise RecipeError(f"{where}: `aliases` must be a table")
    aliases = {str(k): _texts(raw_aliases, k, f"{where}.aliases") for k in raw_aliases}
    # The fill must suit the type: a recipe that cannot be filled is a bug.
    if fill in INTEGER_FILLS and parameter.type is not ParameterType.INTEGER:
        raise RecipeError(f"{where}: fill {fill} needs an integer parameter")
    if fill is Fill.FLAG and parameter.type is not ParameterType.BOOLEAN:
        raise RecipeError(f"{where}: fill flag needs a boolean parameter")
    if fill is Fill.FLAG and not (when or unless):
        raise RecipeError(f"{where}: fill flag needs `when` or `unless` phrases")
    if fill is Fill.CHOICE and parameter.type is not ParameterType.ENUM:
        raise RecipeError(f"{where}: fill choice needs an enum parameter")
    if fill is Fill.NAME and not cues:
        raise RecipeError(f"{where}: fill name needs `cues`")
    if fill not in (None, Fill.FLAG, Fill.CHOICE, *INTEGER_FILLS) and parameter.type not in (
        ParameterType.STRING,
    ):
        raise RecipeError(f"{where}: fill {fill} needs a string parameter")
    if set(aliases) - set(parameter.choices):
        raise RecipeError(f"{where}: aliases for unknown choices")
    return RecipeParameter(
        parameter=parameter,
        fill=fill,
        pattern=pattern,
        cues=cues,
        when=when,
        unless=unless,
        aliases=aliases,
    )


_RECIPE_KEYS = {
    "id",
    "title",
    "summary",
    "platform",
    "keywords",
    "synonyms",
    "parameters",
    "scripts",
}


def parse_recipe(data: Mapping[str, Any], *, source: str) -> Recipe:
    """A checked recipe from its parsed file; `source` is the file's stem, which
    must be the recipe's id (one file per recipe, found by its id)."""
    where = f"recipe {source}"
    unknown = sorted(set(data) - _RECIPE_KEYS)
    if unknown:
        raise RecipeError(f"{where}: unknown keys {', '.join(unknown)}")
    recipe_id = _text(data, "id", where)
    if recipe_id != source or len(recipe_id) > MAX_RECIPE_ID or not RECIPE_ID.match(recipe_id):
        raise RecipeError(f"{where}: id must be the file name in kebab-case, got {recipe_id!r}")
    try:
        platform = Platform(data.get("platform", ""))
    except ValueError:
        raise RecipeError(f"{where}: platform must be windows, linux or any") from None
    keywords = _texts(data, "keywords", where)
    if not keywords:
        raise RecipeError(f"{where}: needs keywords")
    raw_parameters = data.get("parameters", [])
    if not isinstance(raw_parameters, list):
        raise RecipeError(f"{where}: `parameters` must be an array of tables")
    parameters = tuple(
        _parameter(p, f"{where} parameters[{i}]") for i, p in enumerate(raw_parameters)
    )
    raw_scripts = data.get("scripts", {})
    if not isinstance(raw_scripts, Mapping) or not raw_scripts:
        raise RecipeError(f"{where}: needs [scripts] with at least one language")
    scripts: dict[ScriptLanguage, str] = {}
    for key, body in raw_scripts.items():
        try:
            language = ScriptLanguage(key)
        except ValueError:
            raise RecipeError(f"{where}: unknown script language {key!r}") from None
        if not isinstance(body, str) or not body.strip():
            raise RecipeError(f"{where}: the {key} script is empty")
        scripts[language] = body.strip("\n")
    recipe = Recipe(
        id=recipe_id,
        title=_text(data, "title", where),
        summary=_text(data, "summary", where),
        platform=platform,
        keywords=keywords,
        synonyms=_texts(data, "synonyms", where),
        parameters=parameters,
        scripts=scripts,
    )
    # Each script must be a valid template: every placeholder declared, every
    # parameter used, defaults that fit their types.
    for language in recipe.languages:
        try:
            recipe.template(language)
        except InvalidArgument as exc:
            raise RecipeError(f"{where} ({language}): {exc.message}") from None
    return recipe


def check_unique(recipes: Sequence[Recipe]) -> None:
    ids = [r.id for r in recipes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RecipeError(f"duplicate recipe ids: {', '.join(duplicates)}")
