"""WeCom callback XML (outer envelope and decrypted inner event) → pydantic models."""

from __future__ import annotations

import hashlib
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from siyu.domain.errors import InvalidInput
from siyu.domain.events import WeComEvent

SUPPORTED_EVENTS = frozenset(
    {"change_external_contact", "change_external_chat", "change_external_tag"}
)

_FIELDS = {
    "ToUserName": "corp_id",
    "Event": "event",
    "ChangeType": "change_type",
    "CreateTime": "create_time",
    "UserID": "user_id",
    "ExternalUserID": "external_user_id",
    "ChatId": "chat_id",
    "State": "state",
    "WelcomeCode": "welcome_code",
    "Source": "source",
    "FailReason": "fail_reason",
    "UpdateDetail": "update_detail",
    "JoinScene": "join_scene",
    "QuitScene": "quit_scene",
    "MemChangeCnt": "mem_change_cnt",
    "Id": "tag_id",
    "TagType": "tag_type",
    "StrategyId": "strategy_id",
}
_INTEGERS = {"create_time", "join_scene", "quit_scene", "mem_change_cnt"}


def _parse(xml: bytes, what: str) -> Element:
    try:
        root = ElementTree.fromstring(xml)
    except DefusedXmlException as exc:
        raise InvalidInput(what, f"forbidden XML construct: {type(exc).__name__}") from exc
    except ElementTree.ParseError as exc:
        raise InvalidInput(what, f"malformed XML: {exc}") from exc
    if root.tag != "xml":
        raise InvalidInput(what, "root element must be <xml>")
    return root


def parse_envelope(body: bytes) -> str:
    """Return the Encrypt value of the outer POST body."""
    root = _parse(body, "body")
    encrypted = (root.findtext("Encrypt") or "").strip()
    if not encrypted:
        raise InvalidInput("Encrypt", "missing from the callback body")
    return encrypted


def parse_event(inner: bytes) -> WeComEvent:
    """Map the decrypted event XML onto WeComEvent; unknown elements are ignored."""
    root = _parse(inner, "event")
    values: dict[str, object] = {"raw_sha256": hashlib.sha256(inner).hexdigest()}
    for child in root:
        if child.tag == "MemChangeList":
            values["mem_change_list"] = [(i.text or "").strip() for i in child if i.text]
            continue
        name = _FIELDS.get(child.tag)
        if name is None:
            continue
        text = (child.text or "").strip()
        if name in _INTEGERS:
            if not text.lstrip("-").isdigit():
                raise InvalidInput(child.tag, f"must be an integer, got {text!r}")
            values[name] = int(text)
        else:
            values[name] = text
    for required in ("Event", "ChangeType", "CreateTime"):
        if _FIELDS[required] not in values:
            raise InvalidInput(required, "missing from the event")
    if values["event"] not in SUPPORTED_EVENTS:
        raise InvalidInput("Event", f"unsupported event {values['event']!r}")
    return WeComEvent.model_validate(values)


def render_event(fields: dict[str, Any]) -> bytes:
    """Build an inner event XML as WeCom does (CDATA text, bare integers, <Item> lists)."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, list):
            items = "".join(f"<Item><![CDATA[{v}]]></Item>" for v in value)
            parts.append(f"<{name}>{items}</{name}>")
        elif isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            safe = str(value).replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{name}><![CDATA[{safe}]]></{name}>")
    return ("<xml>" + "".join(parts) + "</xml>").encode()


def render_envelope(corp_id: str, encrypted: str, agent_id: str = "") -> bytes:
    return render_event({"ToUserName": corp_id, "Encrypt": encrypted, "AgentID": agent_id})
