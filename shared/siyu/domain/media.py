"""The content library: images, videos and files ops upload once and siyu keeps sendable.

WeCom's temporary media (90253) lives three days; an asset remembers the media_id it last
got and when, so siyu uploads again before that id expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from siyu.domain.errors import InvalidInput
from siyu.domain.model import Model

MEDIA_LIFETIME = timedelta(days=3)  # 90253: a media_id is valid for three days
MIN_BYTES = 6  # 90253: every file must be larger than 5 bytes
MAX_BYTES = {"image": 10 * 1024 * 1024, "video": 10 * 1024 * 1024, "file": 20 * 1024 * 1024}
MediaKind = Literal["image", "video", "file"]
# POST /ops/media: the largest file in base64 (4 characters per 3 bytes) and the JSON around it.
MAX_UPLOAD_BODY = 4 * -(-MAX_BYTES["file"] // 3) + 4096


class MediaUpload(Model):
    """POST /ops/media: one asset, its bytes in base64."""

    model_config = ConfigDict(extra="forbid")

    kind: MediaKind
    filename: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[^/\\\x00-\x1f]+$",
        description="shown to customers for files (90253)",
    )
    content_base64: str = Field(min_length=8)

    @field_validator("content_base64")
    @classmethod
    def _decodable(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not valid base64") from exc
        return value

    def data(self) -> bytes:
        return base64.b64decode(self.content_base64)


def content_type(kind: MediaKind, data: bytes) -> str:
    """The type WeCom accepts for `kind` (90253: JPG or PNG images, MP4 videos), read from the
    bytes themselves; InvalidInput naming the field when they are not that."""
    if not MIN_BYTES <= len(data) <= MAX_BYTES[kind]:
        raise InvalidInput("content_base64", f"a {kind} is {MIN_BYTES} to {MAX_BYTES[kind]} bytes")
    if kind == "image":
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png"
        if data.startswith(b"\xff\xd8\xff"):
            return "image/jpeg"
        raise InvalidInput("content_base64", "an image must be a JPG or PNG file")
    if kind == "video":
        if data[4:8] != b"ftyp":
            raise InvalidInput("content_base64", "a video must be an MP4 file")
        return "video/mp4"
    return "application/octet-stream"


def asset_id(kind: MediaKind, filename: str, data: bytes) -> str:
    """The same bytes under the same name are the same asset: uploading twice adds nothing."""
    digest = hashlib.sha256(f"{kind}\0{filename}\0".encode() + data).hexdigest()
    return f"{kind}-{digest[:24]}"


class MediaAsset(Model):
    """`media/{id}`: the asset, where its bytes are kept, and its current WeCom media_id."""

    id: str
    kind: MediaKind
    filename: str
    content_type: str
    size: int
    sha256: str
    blob: str  # the object name in the media bucket
    created_at: datetime
    media_id: str = ""
    uploaded_at: datetime | None = None  # WeCom's created_at for media_id

    def current_media_id(self, now: datetime, margin: timedelta) -> str:
        """The media_id if it stays valid for at least `margin` more; "" if siyu must upload."""
        if not self.media_id or self.uploaded_at is None:
            return ""
        return self.media_id if now + margin < self.uploaded_at + MEDIA_LIFETIME else ""

    def expires_at(self) -> datetime | None:
        return self.uploaded_at + MEDIA_LIFETIME if self.uploaded_at else None


class UploadedMedia(Model):
    """media/upload's answer (90253)."""

    media_id: str
    created_at: datetime
