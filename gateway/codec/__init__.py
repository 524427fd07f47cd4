"""The gateway's JSON codec: REST JSON ⇄ protobuf, read from the descriptors.

`scalars` (numbers, strings, bytes, enums), `wellknown` (Timestamp, Struct,
wrappers, ...), `messages` (messages and fields, and the `CodecRegistry` that
builds every table once at startup) and `query` (path and query-string text).
"""
