"""The content library: ops upload an asset once; siyu holds a WeCom media_id for it that is
always valid when something is sent, uploading again before the old one expires (90253)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from siyu.domain.content import Attachment, library_ids
from siyu.domain.errors import InvalidInput, NotFound
from siyu.domain.media import MediaAsset, MediaUpload, asset_id, content_type
from siyu.logging import log
from siyu.ports import BlobStore, Clock, MediaRepo, MediaUploader

logger = logging.getLogger(__name__)


class MediaLibrary:
    def __init__(
        self,
        assets: MediaRepo,
        blobs: BlobStore,
        wecom: MediaUploader,
        clock: Clock,
        margin: timedelta,
    ) -> None:
        self._assets = assets
        self._blobs = blobs
        self._wecom = wecom
        self._clock = clock
        self._margin = margin  # a media_id with less life than this left is replaced

    def add(self, upload: MediaUpload) -> MediaAsset:
        """Store the bytes, then the record; the same bytes and name again change nothing."""
        data = upload.data()
        kind_type = content_type(upload.kind, data)
        aid = asset_id(upload.kind, upload.filename, data)
        existing = self._assets.get(aid)
        if existing is not None:
            return existing
        blob = f"media/{aid}"
        self._blobs.put(blob, data, kind_type)  # before the record: a record always has bytes
        asset = MediaAsset(
            id=aid,
            kind=upload.kind,
            filename=upload.filename,
            content_type=kind_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            blob=blob,
            created_at=self._clock.now(),
        )
        self._assets.put(asset)
        log(logger, logging.INFO, "media added", asset_id=aid, kind=upload.kind, size=len(data))
        return asset

    def get(self, asset_id: str) -> MediaAsset:
        asset = self._assets.get(asset_id)
        if asset is None:
            raise NotFound(f"media {asset_id}")
        return asset

    def all(self) -> list[MediaAsset]:
        return sorted(self._assets.all(), key=lambda a: a.created_at)

    def require(self, field: str, attachments: list[Attachment]) -> None:
        """InvalidInput naming the field when an attachment names an asset the library lacks
        or one of the wrong kind (a mini-program cover must be an image)."""
        wanted = library_ids(attachments)
        found = self._assets.get_many(wanted) if wanted else {}
        for n, attachment in enumerate(attachments):
            for ref in attachment.library_ids():
                asset = found.get(ref)
                if asset is None:
                    raise InvalidInput(f"{field}[{n}]", f"no media {ref} in the library")
                expected = "image" if attachment.msgtype == "miniprogram" else attachment.msgtype
                if asset.kind != expected:
                    raise InvalidInput(f"{field}[{n}]", f"{ref} is a {asset.kind}, not {expected}")

    def media_ids(self, refs: list[str], now: datetime | None = None) -> dict[str, str]:
        """A media_id valid for at least the margin for each asset, uploading where needed.
        `now` is the moment the message goes out as (a tick's time on the local stack)."""
        if not refs:
            return {}
        at = max(self._clock.now(), now) if now else self._clock.now()
        assets = self._assets.get_many(refs)
        ids = {}
        for ref in refs:
            asset = assets.get(ref)
            if asset is None:
                raise NotFound(f"media {ref}")
            ids[ref] = asset.current_media_id(at, self._margin) or self._upload(asset).media_id
        return ids

    def wecom_attachments(
        self, attachments: list[Attachment], now: datetime | None = None
    ) -> list[dict[str, object]]:
        ids = self.media_ids(library_ids(attachments), now)
        return [a.wecom(ids) for a in attachments]

    def refresh(self, now: datetime, horizon: timedelta) -> int:
        """Upload again every asset whose media_id would not last past `now + horizon`, so a
        welcome (20 s to send) never waits for an upload."""
        refreshed = 0
        for asset in self._assets.all():
            if not asset.current_media_id(max(now, self._clock.now()), horizon):
                self._upload(asset)
                refreshed += 1
        return refreshed

    def _upload(self, asset: MediaAsset) -> MediaAsset:
        """Two instances may upload the same asset at once: both ids are valid, the later
        record wins, nothing is lost."""
        data = self._blobs.get(asset.blob)
        uploaded = self._wecom.upload_media(asset.kind, asset.filename, data, asset.content_type)
        fresh = asset.model_copy(
            update={"media_id": uploaded.media_id, "uploaded_at": uploaded.created_at}
        )
        self._assets.put(fresh)
        log(logger, logging.INFO, "media uploaded to WeCom", asset_id=asset.id)
        return fresh
