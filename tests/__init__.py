# Chooses gRPC's transport before anything here imports grpc
# (flowpilot.runtime.grpc_transport).
import flowpilot  # noqa: F401
