"""Outcome analytics (issue 16, point 3) as pure rules: the title clusters,
the time window, and what the counts mean.

The unit is a declared run (a `fix_runs` row). Its outcome is the outcome
recorded on its fix after it, by the engineer, by resolve (auto-success) or
by an escalation choice; `never_applied` at escalation counts as such; no
outcome yet is `pending`. A later run of the same fix takes the outcomes
recorded after it; an earlier run still without one takes them too (it ran,
and the fix then worked or not). The database keeps one row per run
(`run_facts`) in step with the lifecycle; the figures are computed from it
in PostgreSQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flowpilot.runtime.errors import InvalidArgument, ResourceExhausted


class Dimension(StrEnum):
    """What runs are grouped by (`OutcomeDimension`)."""

    TEMPLATE_VERSION = "template_version"
    TEMPLATE = "template"
    ORIGIN = "origin"
    LANGUAGE = "language"
    TITLE_CLUSTER = "title_cluster"
    RECIPE = "recipe"


class RunOutcome(StrEnum):
    """A run's outcome as `run_facts.outcome` stores it (null: pending)."""

    SUCCESS = "applied_success"
    FAILED = "applied_failed"
    PARTIAL = "applied_partial"
    NEVER_APPLIED = "never_applied"


# A group whose runs have no value for the dimension (no template, no recipe,
# or no origin: runs declared before provenance was kept).
NONE_KEY = "none"

DEFAULT_WINDOW = timedelta(days=30)
DEFAULT_RATE_WINDOW = timedelta(days=90)
MAX_WINDOW = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


def window(
    start: datetime | None, end: datetime | None, *, now: datetime, default: timedelta
) -> Window:
    """`[start, end)`: end defaults to now, start to `default` before end;
    start must come before end, at most `MAX_WINDOW` apart."""
    end = end or now
    start = start or end - default
    if start >= end:
        raise InvalidArgument(
            "start_time must be before end_time", field="start_time", reason="INVALID_WINDOW"
        )
    if end - start > MAX_WINDOW:
        raise InvalidArgument(
            f"the window may span at most {MAX_WINDOW.days} days",
            field="start_time",
            reason="INVALID_WINDOW",
            metadata={"max_days": str(MAX_WINDOW.days)},
        )
    return Window(start, end)


@dataclass(frozen=True, slots=True)
class Counts:
    runs: int = 0
    success: int = 0
    failed: int = 0
    partial: int = 0
    never_applied: int = 0

    @property
    def pending(self) -> int:
        return self.runs - self.success - self.failed - self.partial - self.never_applied

    @property
    def decided(self) -> int:
        """The success rate's sample size: runs that ran and have an outcome."""
        return self.success + self.failed + self.partial

    @property
    def success_rate(self) -> float | None:
        """success / decided (a partial run is not a success); None without a sample."""
        return self.success / self.decided if self.decided else None


@dataclass(frozen=True, slots=True)
class Durations:
    samples: int = 0
    p50_seconds: float | None = None
    p90_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    counts: Counts
    proposal_to_run: Durations
    run_to_outcome: Durations
    template_id: str | None = None
    template_version: int | None = None


@dataclass(frozen=True, slots=True)
class Report:
    window: Window
    group_by: Dimension | None
    totals: Group
    groups: tuple[Group, ...]
    truncated: bool


# --- title clusters -----------------------------------------------------------------

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_UNC = re.compile(r"\\\\\S+")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_IPV6 = re.compile(r"\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b")
# Host names and dotted ids: two or more dot-separated labels (srv01.contoso.com,
# 10.0.0.5, v2.3.1); file names with an extension go too (they name one case).
_DOTTED = re.compile(r"\b[a-z0-9_-]+(?:\.[a-z0-9_-]+)+\b")
_COMPOUND = re.compile(r"[a-z0-9_-]+")
_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about what a fix does.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "on",
        "in",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "without",
        "via",
        "into",
        "onto",
        "over",
        "is",
        "are",
        "be",
        "been",
        "was",
        "were",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "then",
        "than",
        "as",
        "so",
        "if",
        "my",
        "our",
        "your",
        "their",
        "his",
        "her",
        "them",
        "they",
        "we",
        "you",
        "i",
        "me",
        "us",
        "please",
        "pls",
        "again",
        "now",
        "up",
        "just",
        "all",
        "any",
        "some",
        "new",
        "old",
    ]
)
MAX_CLUSTER_WORDS = 8
EMPTY_CLUSTER = "(no words)"


def title_cluster(title: str) -> str:
    """A fix title's cluster key, deterministic and readable:

    1. NFKC, lower case;
    2. URLs, mail addresses, UNC paths, UUIDs, IPv6 addresses and dotted names
       (hosts, IPv4 addresses, versions, file names) removed;
    3. split into compounds (letters, digits, `-`, `_`); a compound holding
       a digit (an id, a host such as `prn-srv03`, a number, a KB or ticket
       number) is dropped whole, the others split into words; one-letter
       words and stop words dropped;
    4. the first 8 distinct words, sorted: word order does not matter
       ("Restart print spooler" and "Print spooler restart" are one cluster).
    """
    text = unicodedata.normalize("NFKC", title).lower()
    for pattern in (_URL, _EMAIL, _UNC, _UUID, _IPV6, _DOTTED):
        text = pattern.sub(" ", text)
    words: list[str] = []
    for compound in _COMPOUND.findall(text):
        if any(c.isdigit() for c in compound):
            continue
        for word in _WORD.findall(compound):
            if len(word) > 1 and word not in STOPWORDS and word not in words:
                words.append(word)
    return " ".join(sorted(words[:MAX_CLUSTER_WORDS])) or EMPTY_CLUSTER


def analytics_busy() -> ResourceExhausted:
    """More analytics reads at once than the service runs
    (`FLOWPILOT_ANALYTICS_CONCURRENCY`), past the wait for a free one."""
    return ResourceExhausted(
        "ANALYTICS_BUSY",
        "too many analytics reads are running in this service; try again shortly",
    )
