"""WeCom callback XML, the outer envelope and the decrypted message, as pydantic models."""

from __future__ import annotations

import hashlib
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from siyu.adapters import jsonbody
from siyu.domain.errors import InvalidInput
from siyu.domain.events import Acknowledged, EventKind, WeComEvent
from siyu.domain.ids import doc_id_problem

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
    "LastMemVer": "last_mem_ver",
    "CurMemVer": "cur_mem_ver",
    "Id": "tag_id",
    "TagType": "tag_type",
    "StrategyId": "strategy_id",
}
_INTEGERS = {"create_time", "join_scene", "quit_scene", "mem_change_cnt"}
_MAX_INT_DIGITS = 18  # WeCom's integers are 32- or 64-bit; a longer run of digits is not one
_CUSTOMER_EVENTS = frozenset(EventKind)


def _parse(xml: bytes, what: str) -> Element:
    try:
        root = ElementTree.fromstring(xml)
    except DefusedXmlException as exc:
        raise InvalidInput(what, f"forbidden XML construct: {type(exc).__name__}") from exc
    except ElementTree.ParseError as exc:
        raise InvalidInput(what, f"malformed XML: {exc}") from exc
    except (ValueError, LookupError) as exc:  # e.g. a declared GBK or unknown encoding
        raise InvalidInput(what, f"unreadable XML: {str(exc)[:80]}") from exc
    except RecursionError as exc:
        raise InvalidInput(what, "XML nested too deeply") from exc
    if root.tag != "xml":
        raise InvalidInput(what, "root element must be <xml>")
    return root


def parse_envelope(body: bytes) -> str:
    """Return the Encrypt value of the outer POST body: XML, or the JSON form of 90968."""
    if body.lstrip().startswith(b"{"):
        doc = jsonbody.loads(body)
        encrypted = doc.get("encrypt") if isinstance(doc, dict) else None
        if not isinstance(encrypted, str) or not encrypted.strip():
            raise InvalidInput("encrypt", "missing from the callback body")
        return encrypted.strip()
    root = _parse(body, "body")
    encrypted = (root.findtext("Encrypt") or "").strip()
    if not encrypted:
        raise InvalidInput("Encrypt", "missing from the callback body")
    return encrypted


def _texts(root: Element) -> dict[str, str]:
    """Each top-level element's stripped text; an empty element reads as absent."""
    found = {}
    for child in root:
        text = (child.text or "").strip()
        if text:
            found[child.tag] = text
    return found


def parse_event(inner: bytes, delivery: str = "") -> WeComEvent | Acknowledged:
    """Map the decrypted XML onto WeComEvent, or Acknowledged for what siyu does not act on.

    Unknown elements are ignored. Only a customer-contact event missing what every such
    event carries (ChangeType, CreateTime) or with a non-integer number is refused.
    """
    root = _parse(inner, "event")
    texts = _texts(root)
    if texts.get("MsgType", "event") != "event" or texts.get("Event") not in _CUSTOMER_EVENTS:
        return Acknowledged(
            msg_type=texts.get("MsgType", ""),
            event=texts.get("Event", ""),
            change_type=texts.get("ChangeType", ""),
        )
    values: dict[str, object] = {
        "raw_sha256": hashlib.sha256(inner).hexdigest(),
        "delivery": delivery,
    }
    for tag, text in texts.items():
        name = _FIELDS.get(tag)
        if name in _INTEGERS:
            if not (text.lstrip("-").isdecimal() and text.isascii()) or len(text) > _MAX_INT_DIGITS:
                raise InvalidInput(tag, f"must be an integer, got {text[:40]!r}")
            values[name] = int(text)
        elif name is not None:
            values[name] = text
    members = root.find("MemChangeList")
    if members is not None:
        values["mem_change_list"] = [i.text.strip() for i in members if i.text and i.text.strip()]
    for required in ("ChangeType", "CreateTime"):
        if _FIELDS[required] not in values:
            raise InvalidInput(required, "missing from the event")
    for tag in ("ExternalUserID", "ChatId", "Id"):  # these become document ids
        problem = doc_id_problem(texts.get(tag, "x"))
        if problem:
            raise InvalidInput(tag, f"not a usable id: {problem}")
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
