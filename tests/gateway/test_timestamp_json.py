"""Timestamps as JSON: the gateway's formatter against protobuf's own (issue 13). Pure code."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from gateway.codec.wellknown import timestamp_to_json

SECONDS = st.integers(-62_135_596_800, 253_402_300_799)
NANOS = st.one_of(
    st.integers(0, 999_999_999),
    st.integers(0, 999).map(lambda ms: ms * 1_000_000),
    st.integers(0, 999_999).map(lambda us: us * 1000),
)


@given(SECONDS, NANOS)
def test_it_writes_what_protobuf_writes(seconds: int, nanos: int) -> None:
    message = Timestamp(seconds=seconds, nanos=nanos)
    assert timestamp_to_json(message) == message.ToJsonString()


@pytest.mark.parametrize(
    ("seconds", "nanos", "text"),
    [
        (0, 0, "1970-01-01T00:00:00Z"),
        (1_795_326_960, 120_000_000, "2026-11-22T05:56:00.120Z"),
        (-62_135_596_800, 1000, "0001-01-01T00:00:00.000001Z"),
        (253_402_300_799, 999_999_999, "9999-12-31T23:59:59.999999999Z"),
    ],
)
def test_known_instants(seconds: int, nanos: int, text: str) -> None:
    assert timestamp_to_json(Timestamp(seconds=seconds, nanos=nanos)) == text


@pytest.mark.parametrize(("seconds", "nanos"), [(253_402_300_800, 0), (0, -1), (0, 10**9)])
def test_out_of_range_is_refused_as_protobuf_refuses_it(seconds: int, nanos: int) -> None:
    with pytest.raises(ValueError, match="Timestamp is not valid"):
        timestamp_to_json(Timestamp(seconds=seconds, nanos=nanos))
