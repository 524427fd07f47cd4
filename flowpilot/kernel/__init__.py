"""The shared kernel: domain vocabulary both services speak, kept once.

Only what the two bounded contexts genuinely share lives here, as plain values
and pure functions without I/O; each service's own rules stay in its own
`domain/`. The proto twin of each value is in
`protos/flowpilot/api/v1/types.proto`.

* `ScriptLanguage` (here): the language of a script.
* `flowpilot.kernel.scripts`: typed script parameters (`ScriptParameter` on
  the wire), their checks, and rendering a script body's `{{name}}`
  placeholders with quoted values: templates (script-builder) and drafted
  fix scripts (fixes service) render alike.
* `flowpilot.kernel.quoting`: the per-language literals rendering uses.
"""

from __future__ import annotations

from enum import StrEnum


class ScriptLanguage(StrEnum):
    """The language of a script (`flowpilot.api.v1.ScriptLanguage`)."""

    POWERSHELL = "powershell"
    BASH = "bash"
    PYTHON = "python"
