"""Conversions both servicers share (`flowpilot.runtime.kernel_proto`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from flowpilot.runtime.kernel_proto import timestamp

pytestmark = pytest.mark.unit


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_timestamp_is_protobufs_own_conversion_to_the_microsecond(moment: datetime) -> None:
    for value in (moment, moment.replace(tzinfo=UTC)):  # naive is read as UTC
        expected = timestamp_pb2.Timestamp()
        expected.FromDatetime(value)
        assert timestamp(value) == expected
