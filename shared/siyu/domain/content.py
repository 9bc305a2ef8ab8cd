"""What siyu sends besides text: attachments of welcomes (92137), 群发 (92135) and group
welcome templates (92366), with their media taken from siyu's content library.

Media attachments name a library asset (`media`), never a WeCom media_id: a media_id lives
three days (90253), so siyu uploads the asset when it is needed and again before it expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from siyu.domain.compliance import max_bytes
from siyu.domain.model import Model

MAX_ATTACHMENTS = 9  # send_welcome_msg (92137) and add_msg_template (92135)
LIBRARY_ID = r"^(image|video|file)-[0-9a-f]{24}$"
KINDS = ("link", "image", "miniprogram", "video", "file")

MediaRef = Annotated[str, Field(pattern=LIBRARY_ID, description="a content-library asset id")]


class _Part(Model):
    model_config = ConfigDict(extra="forbid")


class Link(_Part):
    """92135/92137: title ≤ 128 bytes, desc ≤ 512 bytes."""

    title: Annotated[str, Field(min_length=1), max_bytes(128)]
    url: str = Field(pattern=r"^https://", max_length=2048)
    picurl: str = Field("", max_length=2048)
    desc: Annotated[str, max_bytes(512)] = ""


class Image(_Part):
    """A library image, or a pic_url from WeCom's uploadimg (permanent, 92137)."""

    media: MediaRef | None = None
    pic_url: str = Field("", max_length=2048)

    @model_validator(mode="after")
    def _one_source(self) -> Image:
        if bool(self.media) == bool(self.pic_url):
            raise ValueError("an image takes either media (a library asset) or pic_url")
        return self


class MiniProgram(_Part):
    """92137: title ≤ 64 bytes; the cover is a library image (WeCom wants a pic_media_id)."""

    title: Annotated[str, Field(min_length=1), max_bytes(64)]
    pic_media: MediaRef
    appid: str = Field(min_length=1, max_length=64)
    page: str = Field(min_length=1, max_length=256)


class Video(_Part):
    media: MediaRef


class File(_Part):
    media: MediaRef


class Attachment(_Part):
    msgtype: Literal["link", "image", "miniprogram", "video", "file"]
    link: Link | None = None
    image: Image | None = None
    miniprogram: MiniProgram | None = None
    video: Video | None = None
    file: File | None = None

    @model_validator(mode="after")
    def _matches_type(self) -> Attachment:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if given != [self.msgtype]:
            raise ValueError(f"a {self.msgtype} attachment carries exactly `{self.msgtype}`")
        return self

    @property
    def body(self) -> BaseModel:
        part: BaseModel = getattr(self, self.msgtype)
        return part

    def texts(self) -> list[str]:
        """What a compliance check reads besides the message text."""
        if self.link:
            return [self.link.title, self.link.desc]
        if self.miniprogram:
            return [self.miniprogram.title]
        return []

    def library_ids(self) -> list[str]:
        part = self.body
        ref = getattr(part, "pic_media", None) or getattr(part, "media", None)
        return [ref] if ref else []

    def wecom(self, media_ids: Mapping[str, str]) -> dict[str, Any]:
        """As WeCom takes it, each library asset replaced by its current media_id."""
        fields = self.body.model_dump(exclude_defaults=True)
        if "media" in fields:
            fields["media_id"] = media_ids[fields.pop("media")]
        if "pic_media" in fields:
            fields["pic_media_id"] = media_ids[fields.pop("pic_media")]
        return {"msgtype": self.msgtype, self.msgtype: fields}


def library_ids(attachments: list[Attachment]) -> list[str]:
    """Every library asset the attachments use, once, in order."""
    return list(dict.fromkeys(ref for a in attachments for ref in a.library_ids()))
