"""The test-only Widget API (protos/widgets.proto), compiled in-process.

`protoc` (grpcio-tools, no subprocess) writes a descriptor set that is added
to the default descriptor pool once, so the gateway's codecs and the fake
services find its messages like any generated stub's. Nothing is written to
the tree.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

PROTO = Path(__file__).parent / "protos" / "widgets.proto"
FILE_NAME = "widgets.proto"
PACKAGE = "flowpilot.gatewaytest.v1"


@functools.cache
def widget_service() -> ServiceDescriptor:
    from google.api import annotations_pb2  # noqa: F401 - the imports, in the pool first
    from google.protobuf import field_mask_pb2  # noqa: F401
    from grpc_tools import protoc

    from flowpilot.runtime.codegen import _include_dirs

    pool = descriptor_pool.Default()
    try:
        return pool.FindServiceByName(f"{PACKAGE}.WidgetService")
    except KeyError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "widgets.pb"
        args = ["protoc", f"-I{PROTO.parent}", *(f"-I{d}" for d in _include_dirs()[1:])]
        if protoc.main([*args, f"--descriptor_set_out={out}", FILE_NAME]) != 0:
            raise RuntimeError("protoc failed on widgets.proto")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    for file in files.file:
        pool.Add(file)
    return pool.FindServiceByName(f"{PACKAGE}.WidgetService")


def message(type_name: str, **fields: object) -> Message:
    """A message of the Widget API by its short name."""
    widget_service()
    descriptor = descriptor_pool.Default().FindMessageTypeByName(f"{PACKAGE}.{type_name}")
    return message_factory.GetMessageClass(descriptor)(**fields)
