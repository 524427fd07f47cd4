"""Outcome analytics as pure rules: title clusters, the window, the counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixes_service.domain.analytics import (
    DEFAULT_WINDOW,
    EMPTY_CLUSTER,
    MAX_WINDOW,
    Counts,
    title_cluster,
    window,
)
from flowpilot.runtime.errors import InvalidArgument

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "cluster"),
    [
        ("Restart the print spooler on PRN-SRV03", "print restart spooler"),
        ("Print spooler restart", "print restart spooler"),
        ("restart print-spooler", "print restart spooler"),
        ("RESTART   Print Spooler!!", "print restart spooler"),
        ("Flush DNS cache on 10.0.0.5", "cache dns flush"),
        ("Flush DNS cache on srv01.contoso.com", "cache dns flush"),
        ("Reset password for bob@contoso.com (ticket 4412)", "password reset ticket"),
        ("Install KB5034441", "install"),
        ("Open https://intranet/x?id=4 and clear cache", "cache clear open"),
        ("Map \\\\fs01\\share again", "map"),
        ("Job 3f2a9c1e-0000-4000-8000-000000000000 stuck", "job stuck"),
        ("Restart IIS app pool AppPool_2", "app iis pool restart"),
        ("Ｒｅｓｔａｒｔ spooler", "restart spooler"),  # full-width letters (NFKC)
        ("1234 - 5678", EMPTY_CLUSTER),
        ("", EMPTY_CLUSTER),
        ("a b c d e f g h i j k l m n o p q r s t u v w x y z", EMPTY_CLUSTER),
        (
            "one two three four five six seven eight nine ten",
            "eight five four one seven six three two",
        ),
    ],
)
def test_title_clusters(title: str, cluster: str) -> None:
    assert title_cluster(title) == cluster


@given(st.text(max_size=300))
def test_a_cluster_is_deterministic_and_order_free(title: str) -> None:
    cluster = title_cluster(title)
    assert cluster == title_cluster(title)
    words = cluster.split()
    assert cluster == EMPTY_CLUSTER or words == sorted(set(words))
    assert len(words) <= 8
    assert not any(c.isdigit() for c in cluster)


def test_the_window_defaults_and_bounds() -> None:
    assert window(None, None, now=NOW, default=DEFAULT_WINDOW).start == NOW - DEFAULT_WINDOW
    start = NOW - timedelta(days=3)
    assert window(start, None, now=NOW, default=DEFAULT_WINDOW).end == NOW
    assert window(None, start, now=NOW, default=DEFAULT_WINDOW).start == start - DEFAULT_WINDOW
    window(NOW - MAX_WINDOW, NOW, now=NOW, default=DEFAULT_WINDOW)
    for start, end in ((NOW, NOW), (NOW, NOW - timedelta(1)), (NOW - MAX_WINDOW * 2, NOW)):
        with pytest.raises(InvalidArgument) as refused:
            window(start, end, now=NOW, default=DEFAULT_WINDOW)
        assert refused.value.reason == "INVALID_WINDOW"


def test_counts() -> None:
    counts = Counts(runs=10, success=4, failed=2, partial=2, never_applied=1)
    assert (counts.pending, counts.decided, counts.success_rate) == (1, 8, 0.5)
    assert Counts(runs=3, never_applied=3).success_rate is None
