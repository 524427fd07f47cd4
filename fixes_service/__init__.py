"""The fixes service: AI sessions, suggested fixes and the fix lifecycle (CONTRACT §1, §4)."""

# Chooses gRPC's transport before anything here imports grpc
# (flowpilot.runtime.grpc_transport).
import flowpilot  # noqa: F401
