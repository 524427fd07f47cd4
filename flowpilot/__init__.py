"""FlowPilot shared runtime and generated API stubs.

`flowpilot.runtime` holds what every process shares (settings, auth, logging,
errors, server bootstrap, database, embedded PostgreSQL); `flowpilot.api`,
`flowpilot.fixes` and `flowpilot.scriptbuilder` hold the stubs generated from
`protos/` by `flowpilot codegen`.
"""

from flowpilot.runtime.grpc_transport import choose_grpc_transport

# Before anything imports grpc, which reads its configuration once.
choose_grpc_transport()
