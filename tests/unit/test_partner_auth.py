"""Partner HMAC: what a signature covers, the window, replays, and the key configuration."""

from __future__ import annotations

import pytest

from siyu.domain.errors import Unauthorized
from siyu.domain.partner_auth import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    PartnerAuth,
    parse_keys,
    signed_headers,
)

SECRET = b"a-partner-secret-0123456789"
NOW = 1_795_000_000.0
BODY = b'{"txn_id":"t1"}'


def auth(window_s: int = 300, max_remembered: int = 1000) -> PartnerAuth:
    return PartnerAuth({"cards": SECRET}, window_s, max_remembered)


def test_a_signed_body_names_its_caller_once_and_a_replay_is_refused() -> None:
    a = auth()
    headers = signed_headers("cards", SECRET, BODY, NOW)
    assert a.verify(headers, BODY, NOW) == "cards"
    with pytest.raises(Unauthorized, match="replayed"):
        a.verify(headers, BODY, NOW + 1)


def test_the_signature_covers_body_and_timestamp() -> None:
    headers = signed_headers("cards", SECRET, BODY, NOW)
    with pytest.raises(Unauthorized, match="does not match"):
        auth().verify(headers, BODY + b" ", NOW)
    moved = {**headers, TIMESTAMP_HEADER: str(int(NOW) + 1)}
    with pytest.raises(Unauthorized, match="does not match"):
        auth().verify(moved, BODY, NOW)


def test_the_window_holds_both_ways() -> None:
    early = signed_headers("cards", SECRET, BODY, NOW - 301)
    late = signed_headers("cards", SECRET, BODY, NOW + 301)
    for headers in (early, late):
        with pytest.raises(Unauthorized, match="300-s window"):
            auth().verify(headers, BODY, NOW)
    assert auth().verify(signed_headers("cards", SECRET, BODY, NOW - 300), BODY, NOW) == "cards"


def test_an_unknown_key_id_fails_like_a_wrong_signature() -> None:
    headers = signed_headers("nobody", SECRET, BODY, NOW)
    with pytest.raises(Unauthorized) as unknown:
        auth().verify(headers, BODY, NOW)
    with pytest.raises(Unauthorized) as forged:
        auth().verify({**headers, KEY_ID_HEADER: "cards", SIGNATURE_HEADER: "0" * 64}, BODY, NOW)
    assert str(unknown.value) == str(forged.value)


@pytest.mark.parametrize("missing", [KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_each_header_is_required(missing: str) -> None:
    headers = signed_headers("cards", SECRET, BODY, NOW)
    del headers[missing]
    with pytest.raises(Unauthorized, match="missing"):
        auth().verify(headers, BODY, NOW)


def test_the_signature_is_read_case_insensitively_as_hex() -> None:
    headers = signed_headers("cards", SECRET, BODY, NOW)
    upper = {**headers, SIGNATURE_HEADER: headers[SIGNATURE_HEADER].upper()}
    assert auth().verify(upper, BODY, NOW) == "cards"


def test_replay_memory_forgets_what_left_the_window_and_stays_bounded() -> None:
    a = auth(window_s=10, max_remembered=3)
    first = signed_headers("cards", SECRET, BODY, NOW)
    a.verify(first, BODY, NOW)
    for n in range(1, 5):  # four more: the oldest falls out of the bounded memory
        a.verify(
            signed_headers("cards", SECRET, BODY + str(n).encode(), NOW),
            BODY + str(n).encode(),
            NOW,
        )
    assert len(a._seen) == 3  # noqa: SLF001 (the bound is the point of this test)
    later = NOW + 11  # everything seen so far is outside the window now
    fresh = signed_headers("cards", SECRET, BODY, later)
    a.verify(fresh, BODY, later)
    assert len(a._seen) == 1  # noqa: SLF001


@pytest.mark.parametrize(
    ("spec", "keys"),
    [
        ("", {}),
        ("a:" + "x" * 16, {"a": b"x" * 16}),
        (" a:" + "x" * 16 + " , b:" + "y" * 20, {"a": b"x" * 16, "b": b"y" * 20}),
    ],
)
def test_keys_parse_from_id_secret_pairs(spec: str, keys: dict[str, bytes]) -> None:
    assert parse_keys(spec) == keys


@pytest.mark.parametrize("spec", ["a", "a:short", ":" + "x" * 16, "a:" + "x" * 16 + ",b"])
def test_a_malformed_key_entry_is_a_configuration_error(spec: str) -> None:
    with pytest.raises(ValueError, match="SIYU_PARTNER_KEYS"):
        parse_keys(spec)
