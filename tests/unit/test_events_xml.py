import pytest

from siyu.adapters.wecom.events import parse_envelope, parse_event, render_event
from siyu.domain.errors import InvalidInput
from siyu.domain.events import Acknowledged, WeComEvent


def event(**fields: str | int) -> bytes:
    base: dict[str, str | int] = {
        "ToUserName": "ww1",
        "FromUserName": "sys",
        "CreateTime": 1700000000,
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": "add_external_contact",
        "UserID": "zhangsan",
        "ExternalUserID": "wm1",
        "State": "card_alert",
        "WelcomeCode": "WC",
    }
    return render_event({**base, **fields})


def event_of(xml: bytes) -> WeComEvent:
    """A customer event (what is not one is Acknowledged and fails here)."""
    parsed = parse_event(xml)
    assert isinstance(parsed, WeComEvent), parsed
    return parsed


def test_fields_map_to_the_model() -> None:
    parsed = event_of(event())
    assert (
        parsed.event,
        parsed.change_type,
        parsed.user_id,
        parsed.external_user_id,
        parsed.state,
        parsed.welcome_code,
        parsed.create_time,
    ) == (
        "change_external_contact",
        "add_external_contact",
        "zhangsan",
        "wm1",
        "card_alert",
        "WC",
        1700000000,
    )


def test_chat_fields_and_integers() -> None:
    parsed = event_of(
        render_event(
            {
                "Event": "change_external_chat",
                "ChangeType": "update",
                "ChatId": "wr1",
                "UpdateDetail": "add_member",
                "JoinScene": 3,
                "MemChangeCnt": 2,
                "CreateTime": 5,
            }
        )
    )
    assert (parsed.chat_id, parsed.update_detail, parsed.join_scene, parsed.mem_change_cnt) == (
        "wr1",
        "add_member",
        3,
        2,
    )
    assert parsed.ordering_key == "chat:wr1"


def test_customers_added_in_the_same_second_get_different_keys() -> None:
    a = event_of(event(ExternalUserID="wm1"))
    b = event_of(event(ExternalUserID="wm2"))
    assert a.dedupe_key != b.dedupe_key
    assert a.dedupe_key == event_of(event(ExternalUserID="wm1")).dedupe_key
    assert a.ordering_key == "customer:wm1"


@pytest.mark.parametrize("missing", ["ChangeType", "CreateTime"])
def test_a_missing_required_field_is_named(missing: str) -> None:
    fields = {"Event": "change_external_contact", "ChangeType": "x", "CreateTime": 1}
    del fields[missing]
    with pytest.raises(InvalidInput) as err:
        event_of(render_event(fields))
    assert err.value.field == missing


def test_a_non_integer_create_time_is_named() -> None:
    with pytest.raises(InvalidInput) as err:
        event_of(event(CreateTime="soon"))
    assert err.value.field == "CreateTime"


@pytest.mark.parametrize(
    "fields",
    [
        {"Event": "subscribe"},
        {"Event": ""},
        {"MsgType": "text", "Event": "", "Content": "hello"},
        {"Event": "change_contact", "ChangeType": "create_user"},
    ],
)
def test_what_is_not_a_customer_event_is_acknowledged(fields: dict[str, str]) -> None:
    parsed = parse_event(event(**fields))
    assert isinstance(parsed, Acknowledged)


def test_an_empty_element_reads_as_absent() -> None:
    parsed = event_of(
        b"<xml><Event>change_external_chat</Event><ChangeType>update</ChangeType>"
        b"<CreateTime>1</CreateTime><ChatId>wr1</ChatId><UpdateDetail>del_member</UpdateDetail>"
        b"<QuitScene></QuitScene><JoinScene/><MemChangeCnt>1</MemChangeCnt></xml>"
    )
    assert isinstance(parsed, WeComEvent)
    assert (parsed.quit_scene, parsed.join_scene, parsed.mem_change_cnt) == (None, None, 1)


@pytest.mark.parametrize("value", ["²", "1" * 19, "1.5", "-"])
def test_what_is_not_a_wecom_integer_is_named(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        event_of(event(CreateTime=value))
    assert err.value.field == "CreateTime"


def test_the_json_envelope_of_90968_is_read_too() -> None:
    body = b'{"tousername": "ww1", "encrypt": "abc=", "agentid": "218"}'
    assert parse_envelope(body) == "abc="
    with pytest.raises(InvalidInput) as err:
        parse_envelope(b'{"tousername": "ww1"}')
    assert err.value.field == "encrypt"


def test_entities_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<xml><Encrypt>&b;</Encrypt></xml>"
    )
    with pytest.raises(InvalidInput, match="forbidden"):
        parse_envelope(bomb)


def test_malformed_and_empty_envelopes() -> None:
    with pytest.raises(InvalidInput, match="malformed"):
        parse_envelope(b"<xml><Encrypt>")
    with pytest.raises(InvalidInput) as err:
        parse_envelope(b"<xml><ToUserName>ww1</ToUserName></xml>")
    assert err.value.field == "Encrypt"
