"""The script-builder service: script-builder sessions, their AI drafting
conversation and editor draft, and the script template library."""

# Chooses gRPC's transport before anything here imports grpc
# (flowpilot.runtime.grpc_transport).
import flowpilot  # noqa: F401
