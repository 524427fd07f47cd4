"""The REST gateway: HTTP+JSON for the UI, transcoded to the services' gRPC APIs.

Routes, request/response shapes and the OpenAPI document are all derived from
the `google.api.http` annotations and message descriptors of the protos; nothing
here repeats a path or a field by hand.
"""

# Chooses gRPC's transport before anything here imports grpc
# (flowpilot.runtime.grpc_transport).
import flowpilot  # noqa: F401
