import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.adapters.wecom.crypto import WeComCrypto, aes_key, signature
from siyu.domain.errors import Forbidden, InvalidInput

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "wecom_vectors.json").read_text())


def official() -> WeComCrypto:
    return WeComCrypto(VECTORS["token"], VECTORS["encoding_aes_key"], VECTORS["receive_id"])


def test_url_verification_vector_decrypts_to_the_published_echo() -> None:
    v = VECTORS["verify"]
    plain = official().verify_and_decrypt(
        v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"]
    )
    assert plain.decode() == "1616140317555161061"


def test_message_vector_signature_and_plaintext() -> None:
    v = VECTORS["message"]
    found = re.search(r"<Encrypt><!\[CDATA\[(.+?)\]\]>", v["body"])
    assert found is not None
    encrypted = found.group(1)
    assert signature(VECTORS["token"], v["timestamp"], v["nonce"], encrypted) == v["msg_signature"]
    plain = (
        official()
        .verify_and_decrypt(v["msg_signature"], v["timestamp"], v["nonce"], encrypted)
        .decode()
    )
    for tag, value in v["plaintext_contains"].items():
        assert re.search(rf"<{tag}>(<!\[CDATA\[)?{value}(\]\]>)?</{tag}>", plain), tag


def test_a_wrong_signature_is_forbidden() -> None:
    v = VECTORS["verify"]
    forged = "0" * 40
    with pytest.raises(Forbidden, match="-40001"):
        official().verify_and_decrypt(forged, v["timestamp"], v["nonce"], v["echostr"])


def test_a_foreign_receive_id_is_forbidden() -> None:
    v = VECTORS["verify"]
    other = WeComCrypto(VECTORS["token"], VECTORS["encoding_aes_key"], "ww_someone_else")
    with pytest.raises(Forbidden, match="-40005"):
        other.verify_and_decrypt(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"])


def test_garbage_ciphertext_is_invalid_input() -> None:
    crypto = official()
    with pytest.raises(InvalidInput):
        crypto.decrypt("not base64!!")
    with pytest.raises(InvalidInput):
        crypto.decrypt("QUJD")  # 3 bytes: not whole blocks


def test_encoding_aes_key_must_be_43_characters() -> None:
    with pytest.raises(ValueError, match="43"):
        aes_key("short")


aes_keys = st.binary(min_size=32, max_size=32).map(
    lambda raw: __import__("base64").b64encode(raw).decode()[:43]
)


@settings(max_examples=200, deadline=None)
@given(
    message=st.text(),
    key=aes_keys,
    receive_id=st.from_regex(r"ww[0-9a-f]{16}", fullmatch=True),
    token=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=32),
)
def test_round_trip_for_any_utf8_message_and_key(
    message: str, key: str, receive_id: str, token: str
) -> None:
    crypto = WeComCrypto(token, key, receive_id)
    encrypted = crypto.encrypt(message.encode())
    sig = crypto.sign("1700000000", "nonce", encrypted)
    assert crypto.verify_and_decrypt(sig, "1700000000", "nonce", encrypted) == message.encode()
