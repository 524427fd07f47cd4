"""FlowPilot shared runtime and generated API stubs.

`flowpilot.runtime` holds what every process shares (settings, auth, logging,
errors, server bootstrap, database, embedded PostgreSQL); `flowpilot.api`,
`flowpilot.fixes` and `flowpilot.scriptbuilder` hold the stubs generated from
`protos/` by `flowpilot codegen`.
"""
