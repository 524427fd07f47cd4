"""The default drafter: deterministic, offline, no model.

It answers with a commented, parameterised skeleton in the session's language,
built from the engineer's request and, for inline sessions, the fix, and it
says plainly that it is the offline drafter.
"""

from __future__ import annotations

import re

from flowpilot.kernel import ScriptLanguage
from scriptbuilder_service.domain.drafting import DraftRequest

_SUMMARY_LIMIT = 160


def _one_line(text: str) -> str:
    """Collapsed to one line so that it cannot leave its comment."""
    line = re.sub(r"\s+", " ", text).strip()
    # Braces from the request must not turn into template placeholders.
    line = line.replace("{{", "{ {").replace("}}", "} }")
    if len(line) > _SUMMARY_LIMIT:
        line = line[: _SUMMARY_LIMIT - 1].rstrip() + "…"
    return line or "(no description)"


def _skeleton(request: DraftRequest) -> str:
    goal = _one_line(request.message)
    fix = _one_line(request.fix.title) if request.fix else None
    header = [
        "Drafted by the FlowPilot offline drafter (no AI model configured).",
        f"Goal: {goal}",
    ]
    if fix:
        header.append(f"Fix: {fix}")
    header.append("{{target}} is a parameter, filled in when the script is generated.")
    if request.language is ScriptLanguage.POWERSHELL:
        lines = [
            *(f"# {h}" for h in header),
            "param(",
            "    # The computer or resource to fix.",
            "    [string]$Target = {{target}},",
            "    # Report what would change without changing it.",
            "    [switch]$WhatIf",
            ")",
            "$ErrorActionPreference = 'Stop'",
            "",
            "# 1. Check the current state first, so the script is safe to re-run.",
            'Write-Host "Checking $Target"',
            "",
            "# 2. Apply the change only when it is needed.",
            "if (-not $WhatIf) {",
            "    # TODO: the steps that fix the issue",
            "}",
            "",
            "# 3. Verify and report.",
            'Write-Host "Done: $Target"',
        ]
    elif request.language is ScriptLanguage.BASH:
        lines = [
            "#!/usr/bin/env bash",
            *(f"# {h}" for h in header),
            "set -euo pipefail",
            "",
            "# The host or resource to fix.",
            "target={{target}}",
            "# Set to true to report what would change without changing it.",
            "dry_run=false",
            "",
            "# 1. Check the current state first, so the script is safe to re-run.",
            'echo "Checking ${target}"',
            "",
            "# 2. Apply the change only when it is needed.",
            'if [ "${dry_run}" != true ]; then',
            "    : # TODO: the steps that fix the issue",
            "fi",
            "",
            "# 3. Verify and report.",
            'echo "Done: ${target}"',
        ]
    else:
        lines = [
            "#!/usr/bin/env python3",
            *(f"# {h}" for h in header),
            "import sys",
            "",
            "# The host or resource to fix.",
            "TARGET = {{target}}",
            "# Report what would change without changing it.",
            "DRY_RUN = False",
            "",
            "",
            "def main() -> int:",
            "    # 1. Check the current state first, so the script is safe to re-run.",
            '    print(f"Checking {TARGET}")',
            "    # 2. Apply the change only when it is needed.",
            "    if not DRY_RUN:",
            "        pass  # TODO: the steps that fix the issue",
            "    # 3. Verify and report.",
            '    print(f"Done: {TARGET}")',
            "    return 0",
            "",
            "",
            'if __name__ == "__main__":',
            "    sys.exit(main())",
        ]
    return "\n".join(lines)


class OfflineDrafter:
    name = "offline"

    async def draft(self, request: DraftRequest) -> str:
        about = f" for the fix “{_one_line(request.fix.title)}”" if request.fix else ""
        prose = (
            "This is the offline drafter: no AI model is configured, so I cannot work out "
            f"the fix itself. Here is a commented {request.language.value} skeleton{about} "
            "with a `target` parameter and the check, change and verify steps to fill in."
        )
        return f"{prose}\n\n```{request.language.value}\n{_skeleton(request)}\n```\n"

    async def aclose(self) -> None:
        return None
