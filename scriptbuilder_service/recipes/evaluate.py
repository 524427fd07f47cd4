"""How well does the recipe drafter answer real requests?

    python -m scriptbuilder_service.recipes.evaluate [--split dev|held-out|all]
        [--verbose] [--json] [--min-hit-rate 0.8]
    flowpilot drafter-eval [same options]

Runs every case of `evaluation.toml` through the drafter (earlier messages of
a case are drafted first, as in a session) and prints:

- the hit rate: a case is a hit when the drafter chose the expected recipe
  (or one it accepts), wrote the script in the expected language and every
  key command is in it; for a request no recipe covers, a hit is a question
  instead of a script;
- the share of parameters filled from the request: of the values the
  requests name, how many the draft carries, exactly;
- values filled wrongly (a named value, but not that one).

Exits with 1 when the hit rate is below --min-hit-rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

from flowpilot.kernel import ScriptLanguage
from scriptbuilder_service.adapters.drafting.recipes import RecipeDrafter
from scriptbuilder_service.domain.drafting import Draft, DraftRequest, FixContext, Turn
from scriptbuilder_service.domain.model import Origin, Role

CASES_FILE = "evaluation.toml"
SPLITS = ("dev", "held-out")


@dataclass
class CaseResult:
    id: str
    split: str
    expected: str
    chosen: str
    hit: bool
    missing_commands: list[str] = field(default_factory=list)
    language_ok: bool = True
    params_expected: int = 0
    params_filled: int = 0
    params_wrong: dict[str, Any] = field(default_factory=dict)


def load_cases() -> list[dict[str, Any]]:
    text = (resources.files(__package__) / CASES_FILE).read_text(encoding="utf-8")
    return list(tomllib.loads(text)["case"])


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.casefold() == actual.casefold()
    return type(expected) is type(actual) and expected == actual


async def run_case(drafter: RecipeDrafter, case: dict[str, Any]) -> CaseResult:
    language = ScriptLanguage(case["language"])
    fix = None
    if case.get("fix_title"):
        fix = FixContext("eval", case["fix_title"], case.get("fix_description", ""))
    history: list[Turn] = []
    draft: Draft | None = None
    for message in [*case.get("history", []), case["message"]]:
        request = DraftRequest(
            language=language,
            origin=Origin.PILOT_INLINE if fix else Origin.STANDALONE,
            session_title="evaluation",
            history=tuple(history),
            message=message,
            fix=fix,
        )
        draft = await drafter.draft(request)
        history += [
            Turn(Role.USER, message),
            Turn(
                Role.ASSISTANT,
                draft.content,
                script=draft.script,
                language=draft.language,
                parameters=draft.parameters,
                recipe_id=draft.recipe_id,
            ),
        ]
    assert draft is not None
    expected = case["expect_recipe"]
    chosen = draft.recipe_id or ""
    result = CaseResult(case["id"], case["split"], expected, chosen, hit=False)
    if not expected:
        result.hit = draft.script is None
        return result
    script = (draft.script or "").casefold()
    result.missing_commands = [
        c for c in case.get("expect_commands", []) if c.casefold() not in script
    ]
    want_language = case.get("expect_language")
    result.language_ok = want_language is None or (
        draft.language is not None and draft.language.value == want_language
    )
    right_recipe = chosen == expected or chosen in case.get("accept", [])
    result.hit = right_recipe and not result.missing_commands and result.language_ok
    values = {p.name: p.default for p in draft.parameters}
    for name, value in case.get("expect_params", {}).items():
        result.params_expected += 1
        if name in values and _same(value, values[name]):
            result.params_filled += 1
        else:
            result.params_wrong[name] = values.get(name)
    return result


@dataclass
class Summary:
    cases: int
    hits: int
    hit_rate: float
    recipe_cases: int
    recipe_hits: int
    no_match_cases: int
    no_match_hits: int
    params_expected: int
    params_filled: int
    params_share: float


def summarise(results: Sequence[CaseResult]) -> Summary:
    recipe = [r for r in results if r.expected]
    none = [r for r in results if not r.expected]
    expected = sum(r.params_expected for r in results)
    filled = sum(r.params_filled for r in results)
    hits = sum(r.hit for r in results)
    return Summary(
        cases=len(results),
        hits=hits,
        hit_rate=hits / len(results) if results else 0.0,
        recipe_cases=len(recipe),
        recipe_hits=sum(r.hit for r in recipe),
        no_match_cases=len(none),
        no_match_hits=sum(r.hit for r in none),
        params_expected=expected,
        params_filled=filled,
        params_share=filled / expected if expected else 0.0,
    )


async def evaluate(split: str = "all") -> list[CaseResult]:
    drafter = RecipeDrafter()
    cases = [c for c in load_cases() if split == "all" or c["split"] == split]
    return [await run_case(drafter, case) for case in cases]


def _line(title: str, s: Summary) -> str:
    return (
        f"{title:<9} hit rate {s.hits}/{s.cases} = {s.hit_rate:.0%}"
        f"  (recipe requests {s.recipe_hits}/{s.recipe_cases},"
        f" no-recipe requests answered with a question {s.no_match_hits}/{s.no_match_cases})"
        f"  parameters filled from the request {s.params_filled}/{s.params_expected}"
        f" = {s.params_share:.0%}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="flowpilot drafter-eval", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--verbose", action="store_true", help="one line per case")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--min-hit-rate", type=float, default=0.0, help="exit 1 below this hit rate (0..1)"
    )
    args = parser.parse_args(argv)
    results = asyncio.run(evaluate(args.split))
    overall = summarise(results)
    by_split = {s: summarise([r for r in results if r.split == s]) for s in SPLITS}
    if args.json:
        print(
            json.dumps(
                {
                    "summary": asdict(overall),
                    "splits": {k: asdict(v) for k, v in by_split.items() if v.cases},
                    "cases": [asdict(r) for r in results],
                },
                indent=2,
            )
        )
    else:
        if args.verbose:
            for r in results:
                mark = "hit " if r.hit else "MISS"
                detail = []
                if r.chosen != r.expected:
                    detail.append(f"chose {r.chosen or '(question)'}")
                if r.missing_commands:
                    detail.append(f"missing {r.missing_commands}")
                if not r.language_ok:
                    detail.append("wrong language")
                if r.params_wrong:
                    detail.append(f"values {r.params_wrong}")
                expected = r.expected or "(none)"
                print(f"{mark} {r.split:<8} {r.id:<30} {expected:<30} {'; '.join(detail)}")
        for name, summary in by_split.items():
            if summary.cases and args.split == "all":
                print(_line(name, summary))
        print(_line("all" if args.split == "all" else args.split, overall))
    if overall.hit_rate < args.min_hit_rate:
        print(
            f"hit rate {overall.hit_rate:.0%} is below the floor {args.min_hit_rate:.0%}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
