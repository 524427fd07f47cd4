"""Drafting providers: the offline default, the one system prompt, script
extraction, and the OpenAI-compatible provider against a real local HTTP
server speaking chat-completions."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.errors import Unavailable
from scriptbuilder_service.adapters.drafting.offline import OfflineDrafter
from scriptbuilder_service.adapters.drafting.openai import OpenAIChatProvider
from scriptbuilder_service.domain.drafting import (
    DraftRequest,
    FixContext,
    Turn,
    extract_script,
    system_prompt,
)
from scriptbuilder_service.domain.model import Origin, Role
from scriptbuilder_service.domain.templates import Parameter, ParameterType, placeholders, render
from tests.scriptbuilder.conftest import ChatServer


def request(language: ScriptLanguage = ScriptLanguage.BASH, **kw: Any) -> DraftRequest:
    args: dict[str, Any] = {
        "language": language,
        "origin": Origin.STANDALONE,
        "session_title": "t",
        "history": (),
        "message": "restart the print spooler\n$(exit 3) {{evil}} and report",
    }
    args.update(kw)
    return DraftRequest(**args)


def test_extract_prefers_the_block_in_the_session_language():
    answer = "Prose.\n```text\nnot it\n```\n```bash\necho hi\n```\n"
    assert extract_script(answer, ScriptLanguage.BASH) == "echo hi"
    assert extract_script(answer, ScriptLanguage.PYTHON) == "not it"
    assert extract_script("no code here", ScriptLanguage.BASH) is None
    assert extract_script("```ps1\nGet-Date\n```", ScriptLanguage.POWERSHELL) == "Get-Date"


def test_one_system_prompt_with_anti_parrot_rule():
    prompt = system_prompt(ScriptLanguage.PYTHON)
    assert "Do not parrot" in prompt and "python" in prompt
    # Inline and standalone requests see the very same instructions.
    inline = OpenAIChatProvider(base_url="http://127.0.0.1:9", model="m").messages(
        request(origin=Origin.PILOT_INLINE, fix=FixContext("f", "Spooler stuck", "d"))
    )
    standalone = OpenAIChatProvider(base_url="http://127.0.0.1:9", model="m").messages(request())
    assert inline[0] == standalone[0]
    assert "Spooler stuck" in inline[1]["content"]


@pytest.mark.integration  # runs the skeleton with bash and python
@pytest.mark.parametrize("language", list(ScriptLanguage))
async def test_offline_drafter_writes_a_parameterised_skeleton(language: ScriptLanguage):
    fix = FixContext("f", "Print spooler hangs", "restart it")
    answer = await OfflineDrafter().draft(request(language, fix=fix))
    assert "offline drafter" in answer
    assert "Print spooler hangs" in answer
    script = extract_script(answer, language)
    assert script is not None and "{{target}}" in script
    assert placeholders(script) == ["target"]
    # Deterministic.
    assert answer == await OfflineDrafter().draft(request(language, fix=fix))
    rendered = render(
        language, script, (Parameter("target", ParameterType.STRING),), {"target": "srv'1"}
    )
    await asyncio.to_thread(_check_runs, language, rendered)


def _check_runs(language: ScriptLanguage, rendered: str) -> None:
    """The skeleton is valid code; the request's own text stays in its comment."""
    if language is ScriptLanguage.BASH:
        out = subprocess.run(["bash", "-s"], input=rendered.encode(), capture_output=True)
    elif language is ScriptLanguage.PYTHON:
        out = subprocess.run(
            [sys.executable, "-I", "-"], input=rendered.encode(), capture_output=True
        )
    else:
        return
    assert out.returncode == 0, out.stderr
    assert b"Checking srv'1" in out.stdout


@pytest.mark.integration  # real HTTP
async def test_openai_provider_speaks_chat_completions(chat_server: ChatServer):
    provider = OpenAIChatProvider(base_url=chat_server.url, model="tiny", api_key="k-123")
    try:
        history = (Turn(Role.USER, "earlier"), Turn(Role.ASSISTANT, "answer"))
        answer = await provider.draft(request(history=history))
    finally:
        await provider.aclose()
    assert extract_script(answer, ScriptLanguage.BASH) == "systemctl restart cups"
    sent = chat_server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["model"] == "tiny"
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["messages"][0]["content"] == system_prompt(ScriptLanguage.BASH)
    assert chat_server.headers[0]["authorization"] == "Bearer k-123"


@pytest.mark.integration  # real HTTP
async def test_openai_provider_timeout_is_unavailable(chat_server: ChatServer):
    chat_server.mode = "slow"
    provider = OpenAIChatProvider(base_url=chat_server.url, model="m", timeout_seconds=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(Unavailable) as info:
            await provider.draft(request())
    finally:
        await provider.aclose()
    assert info.value.reason == "DRAFTER_TIMEOUT"
    assert loop.time() - started < 2


@pytest.mark.parametrize(
    ("mode", "reason"), [("error", "DRAFTER_UNAVAILABLE"), ("garbage", "DRAFTER_BAD_RESPONSE")]
)
@pytest.mark.integration  # real HTTP
async def test_openai_provider_bad_answers_are_unavailable(
    chat_server: ChatServer, mode: str, reason: str
):
    chat_server.mode = mode
    provider = OpenAIChatProvider(base_url=chat_server.url, model="m")
    try:
        with pytest.raises(Unavailable) as info:
            await provider.draft(request())
    finally:
        await provider.aclose()
    assert info.value.reason == reason


@pytest.mark.integration  # real HTTP
async def test_openai_provider_down_is_unavailable():
    from flowpilot.runtime.embedded_pg import free_port

    port = free_port()  # nothing listens there
    provider = OpenAIChatProvider(base_url=f"http://127.0.0.1:{port}/v1", model="m")
    try:
        with pytest.raises(Unavailable) as info:
            await provider.draft(request())
    finally:
        await provider.aclose()
    assert info.value.reason == "DRAFTER_UNAVAILABLE"
