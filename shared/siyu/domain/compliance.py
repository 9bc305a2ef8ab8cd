"""Marketing copy a bank may not send: banned financial claims and WeCom's size limits."""

from __future__ import annotations

from pydantic import AfterValidator, ConfigDict, Field

from siyu.domain.errors import InvalidInput
from siyu.domain.model import Model

DEFAULT_BANNED = ("保本", "稳赚", "无风险", "零风险", "最高收益", "刚兑", "保收益", "稳赚不赔")
MAX_TEXT_BYTES = 4_000  # add_msg_template's text limit


class NotCompliant(InvalidInput):
    """Copy that breaks the rules; `words` lists the banned claims found."""

    def __init__(self, field: str, message: str, words: list[str]) -> None:
        super().__init__(field, message)
        self.words = words


def banned_words(texts: list[str], banned: list[str]) -> list[str]:
    """Every banned claim that occurs, ignoring spaces and case (e.g. "稳 赚")."""
    joined = "".join("".join(t.split()).casefold() for t in texts)
    return [word for word in banned if "".join(word.split()).casefold() in joined]


def check(field: str, text: str, other_texts: list[str], banned: list[str]) -> None:
    """Raise NotCompliant naming the banned words, or the size the text is over."""
    found = banned_words([text, *other_texts], banned)
    if found:
        raise NotCompliant(field, f"banned financial claims: {'、'.join(found)}", found)
    size = len(text.encode())
    if size > MAX_TEXT_BYTES:
        raise NotCompliant(field, f"{size} bytes; WeCom takes at most {MAX_TEXT_BYTES}", [])


def max_bytes(limit: int) -> AfterValidator:
    """WeCom counts these limits in UTF-8 bytes, not characters (92135, 92137): one Chinese
    character is three bytes, so a 128-character title can be 384 bytes."""

    def within(value: str) -> str:
        size = len(value.encode())
        if size > limit:
            raise ValueError(f"at most {limit} bytes in UTF-8, got {size} bytes")
        return value

    return AfterValidator(within)


class CopyCheck(Model):
    """POST /ops/campaigns:check: copy as it is being typed, checked as a save would."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=20_000)
    other_texts: list[str] = Field(default_factory=list, max_length=20)


class CopyVerdict(Model):
    banned: list[str]  # the banned claims found, as the rules spell them
    bytes: int
    max_bytes: int = MAX_TEXT_BYTES


def verdict(copy: CopyCheck, banned: list[str]) -> CopyVerdict:
    return CopyVerdict(
        banned=banned_words([copy.text, *copy.other_texts], banned), bytes=len(copy.text.encode())
    )
