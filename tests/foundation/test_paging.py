"""Page tokens: opaque, tamper-evident, bounded, every value range-checked.

Whatever a client sends as `page_token` is either a token this service
issued for this very list, or INVALID_ARGUMENT `INVALID_PAGE_TOKEN`: never
another exception (a 500), never a value SQL cannot take. Forged tokens are
generated (hypothesis) as well as written out: the cases issue 9 found
(calendar-edge timestamps with offsets, integers past int64, deeply nested
JSON) are here signed with the right key, so they reach the range checks.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.paging import MAX_TOKEN_CHARS, Keyset, PageTokens
from flowpilot.runtime.settings import Settings

KEY = b"k" * 32
PAGES = PageTokens(KEY)
KIND, PARENT = "suggested_fixes", "parent-1"
KEYSET = Keyset(datetime(2026, 5, 1, 12, 30, tzinfo=UTC), uuid.uuid4())


def refused(call: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        call()
    return info.value


def assert_bad(token: str) -> None:
    """Every decoder refuses `token` with INVALID_PAGE_TOKEN and nothing else."""
    for call in (
        lambda: PAGES.decode_keyset(token, KIND, PARENT),
        lambda: PAGES.decode_id(token, KIND, PARENT),
        lambda: PAGES.offset_window(KIND, PARENT, 10, token, default=50, maximum=100),
    ):
        error = refused(call)
        assert error.reason == "INVALID_PAGE_TOKEN"
        assert error.metadata["field"] == "page_token"


def test_tokens_round_trip_and_stay_opaque() -> None:
    token = PAGES.encode_keyset(KIND, PARENT, KEYSET)
    assert PAGES.decode_keyset(token, KIND, PARENT) == KEYSET
    assert PAGES.decode_id(PAGES.encode_id(KIND, PARENT, 2**63 - 1), KIND, PARENT) == 2**63 - 1
    offset = PAGES.next_offset_token(KIND, PARENT, 40, 20, filters="q1")
    window = PAGES.offset_window(KIND, PARENT, 20, offset, default=50, maximum=100, filters="q1")
    assert window == (20, 60)
    assert PAGES.decode_keyset("", KIND, PARENT) is None
    assert PAGES.decode_id("", KIND, PARENT) is None
    # Nothing readable: the parent and the row id are not in the clear.
    assert PARENT not in token and str(KEYSET.id) not in token
    assert len(token) <= MAX_TOKEN_CHARS
    # Identity claims may be 255 characters each: a token's size does not grow.
    longest = f"255:{'a' * 255}/{'u' * 255}"
    assert len(PAGES.encode_keyset(KIND, longest, KEYSET)) <= MAX_TOKEN_CHARS
    assert PAGES.decode_keyset(PAGES.encode_keyset(KIND, longest, KEYSET), KIND, longest)


def test_a_token_names_its_list_its_parent_and_its_key() -> None:
    token = PAGES.encode_keyset(KIND, PARENT, KEYSET)
    for kind, parent in (("ai_sessions", PARENT), (KIND, "parent-2")):
        assert refused(lambda k=kind, p=parent: PAGES.decode_keyset(token, k, p)).reason == (
            "INVALID_PAGE_TOKEN"
        )
    other_key = PageTokens(b"another key, as long as it must be")
    assert refused(lambda: other_key.decode_keyset(token, KIND, PARENT)).reason == (
        "INVALID_PAGE_TOKEN"
    )


def test_a_token_under_other_filters_says_so() -> None:
    token = PAGES.next_offset_token(KIND, PARENT, 0, 10, filters="drafts")
    error = refused(
        lambda: PAGES.offset_window(KIND, PARENT, 10, token, default=50, maximum=100, filters="")
    )
    assert error.reason == "PAGE_TOKEN_FILTER_MISMATCH"


# Well signed, out of range: what a forger with the key could not get past
# either, and what a bug in an encoder would produce.
SIGNED_BUT_WRONG: list[list[Any]] = [
    # Calendar edges with offsets: in UTC they fall outside datetime's range.
    ["0001-01-01T00:00:00+14:00", str(uuid.uuid4())],
    ["9999-12-31T23:59:59-14:00", str(uuid.uuid4())],
    ["0001-01-01T00:00:00", str(uuid.uuid4())],  # naive
    ["2026-02-30T00:00:00+00:00", str(uuid.uuid4())],
    ["2026-01-01T00:00:00+00:00", "not-a-uuid"],
    ["2026-01-01T00:00:00+00:00", 5],
    [2**64, str(uuid.uuid4())],
    # Integers past int64, negative, booleans, floats.
    [2**63],
    [2**200],
    [-1],
    [True],
    [1.5],
    [None],
    # Nested JSON where a scalar belongs.
    [json.loads("[" * 400 + "]" * 400)],
    [{"a": {"b": {"c": 1}}}],
    [],
    [1, 2, 3],
]


@pytest.mark.parametrize("values", SIGNED_BUT_WRONG, ids=range(len(SIGNED_BUT_WRONG)))
def test_signed_values_out_of_range_are_refused(values: list[Any]) -> None:
    assert_bad(PAGES.sign(KIND, PARENT, values))


@pytest.mark.parametrize("offset", [-1, 2**31, 2**63, 2**70, True, "3", 1.0, None])
def test_offsets_out_of_range_are_refused(offset: Any) -> None:
    token = PAGES.sign(KIND, PARENT, [offset, ""])
    error = refused(lambda: PAGES.offset_window(KIND, PARENT, 10, token, default=50, maximum=100))
    assert error.reason == "INVALID_PAGE_TOKEN"


def test_tokens_are_bounded_in_size_before_anything_is_read() -> None:
    assert_bad("A" * (MAX_TOKEN_CHARS + 1))
    # Even a well-signed payload is refused past the bound.
    huge = PAGES.sign(KIND, PARENT, ["x" * 400])
    assert len(huge) > MAX_TOKEN_CHARS
    assert_bad(huge)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=700))
def test_any_text_is_a_token_or_refused(token: str) -> None:
    for call in (
        lambda: PAGES.decode_keyset(token, KIND, PARENT),
        lambda: PAGES.decode_id(token, KIND, PARENT),
        lambda: PAGES.offset_window(KIND, PARENT, 10, token, default=50, maximum=100),
    ):
        try:
            call()
        except InvalidArgument as error:
            assert error.reason == "INVALID_PAGE_TOKEN"


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0, max_value=200), flip=st.integers(1, 255))
def test_any_altered_byte_is_caught(position: int, flip: int) -> None:
    token = PAGES.encode_keyset(KIND, PARENT, KEYSET)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[position % len(raw)] ^= flip
    altered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert_bad(altered)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=10,
    )
)
def test_any_signed_json_is_a_position_or_refused(values: Any) -> None:
    token = PAGES.sign(KIND, PARENT, values if isinstance(values, list) else [values])
    if len(token) > MAX_TOKEN_CHARS:
        assert_bad(token)
        return
    for call in (
        lambda: PAGES.decode_keyset(token, KIND, PARENT),
        lambda: PAGES.decode_id(token, KIND, PARENT),
        lambda: PAGES.offset_window(KIND, PARENT, 10, token, default=50, maximum=100),
    ):
        try:
            result = call()
        except InvalidArgument as error:
            assert error.reason in ("INVALID_PAGE_TOKEN", "PAGE_TOKEN_FILTER_MISMATCH")
        else:
            if isinstance(result, Keyset):
                # A position SQL can take: an aware datetime in range, a UUID.
                assert result.created_at.tzinfo is not None
                assert isinstance(result.id, uuid.UUID)
            elif isinstance(result, int):
                assert 0 <= result < 2**63
            elif isinstance(result, tuple):
                assert 0 <= result[1] < 2**31


# --- where the key comes from ----------------------------------------------------


def test_the_key_is_the_setting_when_given(tmp_path: Path) -> None:
    one = Settings(data_dir=tmp_path, jwt_secret="j" * 40, page_token_secret="p" * 40)
    other = Settings(data_dir=tmp_path, jwt_secret="x" * 40, page_token_secret="p" * 40)
    assert one.page_token_key() == other.page_token_key()
    assert one.page_token_key() != b"p" * 40  # a key of its own, derived from the secret


def test_development_derives_the_key_from_the_jwt_secret(tmp_path: Path) -> None:
    one = Settings(data_dir=tmp_path, jwt_secret="j" * 40)
    assert one.page_token_key() == Settings(data_dir=tmp_path, jwt_secret="j" * 40).page_token_key()
    assert one.page_token_key() != Settings(data_dir=tmp_path, jwt_secret="k" * 40).page_token_key()
    # Never the JWT secret itself.
    assert b"j" * 40 not in one.page_token_key()


def test_production_requires_the_setting(tmp_path: Path) -> None:
    production = Settings(env="production", data_dir=tmp_path, jwt_secret="j" * 40)
    with pytest.raises(ValueError, match="FLOWPILOT_PAGE_TOKEN_SECRET is required in production"):
        production.page_token_key()
    given = production.model_copy(update={"page_token_secret": "p" * 40})
    assert len(given.page_token_key()) == 32


@pytest.mark.parametrize("process", ["fixes", "scriptbuilder"])
def test_a_production_service_without_the_key_refuses_to_start(
    process: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from flowpilot.cli import EXIT_CONFIG, _serve

    production = Settings(env="production", jwt_secret="j" * 40)
    assert _serve(process, production) == EXIT_CONFIG
    assert "FLOWPILOT_PAGE_TOKEN_SECRET is required in production" in capsys.readouterr().err
