import uuid

import grpc
import pytest

from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.fixes.v1.fixes_pb2_grpc import FixesServiceStub


def md(token):
    return (("authorization", f"Bearer {token}"),)


async def test_smoke(fixes_channel, make_token):
    stub = FixesServiceStub(fixes_channel)
    tok = make_token(user_id="u1")
    s = await stub.CreateAiSession(pb.CreateAiSessionRequest(title="t"), metadata=md(tok))
    r = await stub.CheckAiSessionAccess(
        pb.CheckAiSessionAccessRequest(ai_session_id=s.id), metadata=md(tok)
    )
    assert r.owner_user_id == "u1"
    f = await stub.CreateSuggestedFix(
        pb.CreateSuggestedFixRequest(
            session_id=s.id,
            title="x",
            script_language=2,
            ai_drafted_script="echo",
            ai_drafted_parameters={"a": 1},
        ),
        metadata=md(tok),
    )
    f = await stub.RecordScriptDecision(
        pb.RecordScriptDecisionRequest(
            session_id=s.id, fix_id=f.id, decision=pb.SCRIPT_DECISION_DRAFT_TEMPLATE
        ),
        metadata=md(tok),
    )
    assert f.HasField("applied_at")
    svc = make_token(user_id="service:sb", account_id="*", role="service")
    ps = await stub.ListPendingTemplateProposals(
        pb.ListPendingTemplateProposalsRequest(), metadata=md(svc)
    )
    assert len(ps.proposals) == 1
    t = str(uuid.uuid4())
    a = await stub.AckTemplateProposal(
        pb.AckTemplateProposalRequest(proposal_id=ps.proposals[0].id, template_id=t),
        metadata=md(svc),
    )
    assert a.template_id == t
    ev = await stub.ListFixEvents(
        pb.ListFixEventsRequest(session_id=s.id, fix_id=f.id), metadata=md(tok)
    )
    assert [e.state_version for e in ev.events] == [1, 2]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.CheckAiSessionAccess(
            pb.CheckAiSessionAccessRequest(ai_session_id=s.id), metadata=md(make_token())
        )
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
