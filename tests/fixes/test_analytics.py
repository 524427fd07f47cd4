"""Outcome analytics (issue 16, points 3 and 5) on the real services: figures
checked against hand-counted fixtures, by every dimension, an account sees
only its own numbers, viewers read them, bad windows are 400."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.fixes.helpers import Client, create_template
from tests.scriptbuilder.helpers import sb_stub
from tests.support.grpc_client import auth_metadata, refused

pytestmark = pytest.mark.integration

SPOOLER = "print restart spooler"


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _counts(c: pb.OutcomeCounts) -> tuple[int, ...]:
    return (c.runs, c.success, c.failed, c.partial, c.never_applied, c.pending, c.decided)


def _by_key(report: pb.OutcomeAnalytics) -> dict[str, tuple[int, ...]]:
    return {g.key: _counts(g.counts) for g in report.groups}


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


@pytest.fixture
async def scenario(client: Client, scriptbuilder_channel, make_token, fixes_channel) -> str:
    """Five runs of account acct-1, counted by hand (the template's id is returned):

    | fix | origin          | language   | template | outcome                      |
    | F1  | ai_draft        | powershell | -        | success                      |
    | F2  | ai_draft_edited | powershell | -        | failed                       |
    | F3  | template        | powershell | v1       | partial, then success        |
    | F4  | template        | powershell | v2       | pending                      |
    | F5  | hand_written    | bash       | -        | never applied (escalation)   |

    F1 and F2 share the title cluster "print restart spooler". Account acct-2
    has one successful run of its own, which acct-1 must never see.
    """
    token = make_token(user_id="engineer-1")
    template_id = await create_template(scriptbuilder_channel, token)
    ai = await client.new_session()
    ids = {"session_id": ai.id}

    f1 = await client.new_fix(ai.id, title="Restart the print spooler on PRN-SRV03")
    await client.ApplyFix(**ids, fix_id=f1.id)
    await client.RecordOutcome(**ids, fix_id=f1.id, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS)

    f2 = await client.new_fix(ai.id, title="Print spooler restart")
    await client.UpdateFixScript(
        **ids, fix_id=f2.id, ai_drafted_script=f2.ai_drafted_script + " -WhatIf"
    )
    await client.RecordScriptDecision(**ids, fix_id=f2.id, decision=pb.SCRIPT_DECISION_ONE_OFF)
    await client.RecordOutcome(**ids, fix_id=f2.id, outcome=pb.FIX_OUTCOME_APPLIED_FAILED)

    f3 = await client.new_fix(ai.id, script=None, template_id=template_id, title="Restart WinRM")
    await client.ApplyFix(**ids, fix_id=f3.id, parameters={"service": "WinRM"})
    await client.RecordOutcome(
        **ids, fix_id=f3.id, outcome=pb.FIX_OUTCOME_APPLIED_PARTIAL, notes="only one host"
    )
    await client.RecordOutcome(**ids, fix_id=f3.id, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS)

    await sb_stub(scriptbuilder_channel).CreateTemplateVersion(
        sb.CreateTemplateVersionRequest(
            template_id=template_id,
            body="Restart-Service -Name {{service}} -Force:{{force}} # v2",
            parameters=(
                await sb_stub(scriptbuilder_channel).GetTemplate(
                    sb.GetTemplateRequest(template_id=template_id), metadata=auth_metadata(token)
                )
            ).parameters,
        ),
        metadata=auth_metadata(token),
    )
    f4 = await client.new_fix(ai.id, script=None, template_id=template_id, title="Restart BITS")
    await client.ApplyFix(**ids, fix_id=f4.id)

    other = await client.new_session("Disk full")
    f5 = await client.new_fix(
        other.id,
        script=None,
        title="Clean /var/tmp on web-01",
        script_language=types_pb2.SCRIPT_LANGUAGE_BASH,
    )
    await client.UpdateFixScript(
        session_id=other.id, fix_id=f5.id, ai_drafted_script="rm -rf /var/tmp/*"
    )
    await client.ApplyFix(session_id=other.id, fix_id=f5.id)
    await client.EscalateAiSession(
        session_id=other.id,
        reason="needs the storage team",
        fix_outcomes=[pb.FixOutcomeChoice(fix_id=f5.id, choice=pb.ESCALATION_CHOICE_NEVER_APPLIED)],
    )

    stranger = Client(fixes_channel, make_token(user_id="engineer-9", account_id="acct-2"))
    theirs = await stranger.new_session()
    fix = await stranger.new_fix(theirs.id, title="Restart the print spooler")
    await stranger.ApplyFix(session_id=theirs.id, fix_id=fix.id)
    await stranger.RecordOutcome(
        session_id=theirs.id, fix_id=fix.id, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS
    )
    return template_id


async def _report(client: Client, dimension: int = 0, **more) -> pb.OutcomeAnalytics:
    return await client.GetOutcomeAnalytics(group_by=dimension, **more)


async def test_totals_and_every_dimension(client: Client, scenario: str) -> None:
    template_id = scenario
    report = await _report(client)
    #                          runs succ fail part never pend decided
    assert _counts(report.totals) == (5, 2, 1, 0, 1, 1, 3)
    assert report.totals.success_rate == pytest.approx(2 / 3)
    assert report.proposal_to_run.samples == 5
    assert report.run_to_outcome.samples == 3  # F1, F2, F3 (never applied is no outcome)
    assert 0 <= report.proposal_to_run.p50_seconds <= report.proposal_to_run.p90_seconds
    assert not report.groups

    origins = _by_key(await _report(client, pb.OUTCOME_DIMENSION_ORIGIN))
    assert origins == {
        "template": (2, 1, 0, 0, 0, 1, 1),
        "ai_draft": (1, 1, 0, 0, 0, 0, 1),
        "ai_draft_edited": (1, 0, 1, 0, 0, 0, 1),
        "hand_written": (1, 0, 0, 0, 1, 0, 0),
    }
    versions = _by_key(await _report(client, pb.OUTCOME_DIMENSION_TEMPLATE_VERSION))
    assert versions == {
        "none": (3, 1, 1, 0, 1, 0, 2),
        f"{template_id}@1": (1, 1, 0, 0, 0, 0, 1),
        f"{template_id}@2": (1, 0, 0, 0, 0, 1, 0),
    }
    templates = _by_key(await _report(client, pb.OUTCOME_DIMENSION_TEMPLATE))
    assert templates == {"none": (3, 1, 1, 0, 1, 0, 2), template_id: (2, 1, 0, 0, 0, 1, 1)}
    languages = _by_key(await _report(client, pb.OUTCOME_DIMENSION_LANGUAGE))
    assert languages == {"powershell": (4, 2, 1, 0, 0, 1, 3), "bash": (1, 0, 0, 0, 1, 0, 0)}
    clusters = _by_key(await _report(client, pb.OUTCOME_DIMENSION_TITLE_CLUSTER))
    assert clusters == {
        SPOOLER: (2, 1, 1, 0, 0, 0, 2),
        "restart winrm": (1, 1, 0, 0, 0, 0, 1),
        "bits restart": (1, 0, 0, 0, 0, 1, 0),
        "clean tmp var": (1, 0, 0, 0, 1, 0, 0),
    }
    recipes = _by_key(await _report(client, pb.OUTCOME_DIMENSION_RECIPE))
    assert recipes == {"none": (5, 2, 1, 0, 1, 1, 3)}


async def test_the_largest_groups_first_and_a_truncation_flag(client: Client, scenario) -> None:
    report = await _report(client, pb.OUTCOME_DIMENSION_TITLE_CLUSTER, page_size=1)
    assert [g.key for g in report.groups] == [SPOOLER]
    assert report.groups_truncated
    assert _counts(report.totals) == (5, 2, 1, 0, 1, 1, 3)  # totals are never truncated


async def test_a_templates_success_rate_with_its_versions(client: Client, scenario) -> None:
    template_id = scenario
    rate = await client.GetSuccessRate(template_id=template_id)
    assert _counts(rate.counts) == (2, 1, 0, 0, 0, 1, 1)
    assert rate.counts.success_rate == 1.0
    assert [(v.template_version, _counts(v.counts)) for v in rate.versions] == [
        (2, (1, 0, 0, 0, 0, 1, 0)),
        (1, (1, 1, 0, 0, 0, 0, 1)),
    ]
    assert not rate.versions[0].counts.HasField("success_rate")  # no sample yet
    unknown = await client.GetSuccessRate(template_id=str(uuid.uuid4()))
    assert _counts(unknown.counts) == (0,) * 7 and not unknown.versions


async def test_the_window(client: Client, scenario) -> None:
    now = datetime.now(UTC)
    past = await _report(
        client, start_time=_ts(now - timedelta(days=10)), end_time=_ts(now - timedelta(days=1))
    )
    assert _counts(past.totals) == (0,) * 7
    assert not past.totals.HasField("success_rate")
    assert not past.proposal_to_run.HasField("p50_seconds")
    current = await _report(client, start_time=_ts(now - timedelta(hours=1)))
    assert current.totals.runs == 5
    start = current.start_time.ToDatetime(UTC)
    assert abs(start - (now - timedelta(hours=1))) < timedelta(seconds=1)


async def test_an_account_sees_only_its_own_numbers_and_viewers_read(
    fixes_channel, make_token, scenario
) -> None:
    stranger = Client(fixes_channel, make_token(user_id="engineer-9", account_id="acct-2"))
    theirs = await stranger.GetOutcomeAnalytics(group_by=pb.OUTCOME_DIMENSION_TEMPLATE)
    assert _counts(theirs.totals) == (1, 1, 0, 0, 0, 0, 1)
    assert [g.key for g in theirs.groups] == ["none"]
    assert (await stranger.GetSuccessRate(template_id=scenario)).counts.runs == 0
    viewer = Client(fixes_channel, make_token(user_id="someone", role="viewer"))
    assert _counts((await viewer.GetOutcomeAnalytics()).totals) == (5, 2, 1, 0, 1, 1, 3)
    colleague = Client(fixes_channel, make_token(user_id="engineer-2"))
    assert (await colleague.GetOutcomeAnalytics()).totals.runs == 5  # aggregates of the account


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {
                "start_time": _ts(datetime(2026, 1, 2, tzinfo=UTC)),
                "end_time": _ts(datetime(2026, 1, 1, tzinfo=UTC)),
            },
            "INVALID_WINDOW",
        ),
        (
            {
                "start_time": _ts(datetime(2024, 1, 1, tzinfo=UTC)),
                "end_time": _ts(datetime(2026, 1, 1, tzinfo=UTC)),
            },
            "INVALID_WINDOW",
        ),
        ({"group_by": 42}, "INVALID_ENUM"),
        ({"page_size": -1}, "INVALID_ARGUMENT"),
    ],
)
async def test_bad_analytics_requests_are_400(client: Client, fields, reason) -> None:
    refusal = await refused(client.GetOutcomeAnalytics(**fields))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "MISSING_FIELD"),
        ({"template_id": str(uuid.uuid4()), "recipe_id": "x"}, "INVALID_ARGUMENT"),
        ({"template_id": "nope"}, "INVALID_UUID"),
        ({"recipe_id": "r" * 101}, "FIELD_TOO_LONG"),
    ],
)
async def test_bad_success_rate_requests_are_400(client: Client, fields, reason) -> None:
    refusal = await refused(client.GetSuccessRate(**fields))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


async def test_durations_are_percentiles_of_hand_made_runs(client: Client, db) -> None:
    """Four runs written straight into the tables (the triggers make their
    facts and outcomes): proposal to run 10, 20, 30, 40 s; run to outcome
    100, 200, 300 s and one pending. percentile_cont by hand: p50 25 s and
    p90 30 + 0.7 * 10 = 37 s; p50 200 s and p90 200 + 0.8 * 100 = 280 s."""
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    session = uuid.uuid4()
    await db.execute(
        "INSERT INTO ai_sessions (id, owner_user_id, account_id, title, created_at, updated_at)"
        " VALUES ($1, 'engineer-1', 'acct-1', 'timed', $2, $2)",
        session,
        t0,
    )
    outcomes = [("applied_success", 100), ("applied_failed", 200), ("applied_success", 300)]
    for index, to_run in enumerate((10, 20, 30, 40)):
        fix = uuid.uuid4()
        await db.execute(
            "INSERT INTO suggested_fixes (id, ai_session_id, title, script_language, "
            "ai_drafted_script, created_at, updated_at, title_cluster)"
            " VALUES ($1, $2, 'Timed', 'bash', 'true', $3, $3, 'timed')",
            fix,
            session,
            t0,
        )
        declared = t0 + timedelta(seconds=to_run)
        await db.execute(
            "INSERT INTO fix_runs (id, fix_id, ai_session_id, state_version, kind, source,"
            " language, script, rendered, declared_by_user_id, declared_at, provenance)"
            " VALUES ($1, $2, $3, $4, 'apply', 'drafted_script', 'bash', 'true', true,"
            " 'engineer-1', $5, '{\"origin\": \"hand_written\"}')",
            uuid.uuid4(),
            fix,
            session,
            index + 1,
            declared,
        )
        if index < len(outcomes):
            status, to_outcome = outcomes[index]
            await db.execute(
                "UPDATE suggested_fixes SET applied_at = $2, status = $3, updated_at = $4"
                " WHERE id = $1",
                fix,
                declared,
                status,
                declared + timedelta(seconds=to_outcome),
            )
    report = await _report(
        client,
        start_time=_ts(t0),
        end_time=_ts(t0 + timedelta(days=1)),
        dimension=pb.OUTCOME_DIMENSION_ORIGIN,
    )
    assert _counts(report.totals) == (4, 2, 1, 0, 0, 1, 3)
    timings = (report.proposal_to_run, report.run_to_outcome)
    assert [(t.samples, t.p50_seconds, t.p90_seconds) for t in timings] == [
        (4, 25.0, 37.0),
        (3, 200.0, 280.0),
    ]
    (group,) = report.groups
    assert (group.key, group.proposal_to_run.p90_seconds) == ("hand_written", 37.0)
