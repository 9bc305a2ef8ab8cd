"""The content library's bytes in Cloud Storage (the local stack: its emulator)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.api_core import exceptions as gexc

from siyu.domain.errors import NotFound, TransientError

if TYPE_CHECKING:
    from google.cloud import storage  # type: ignore[attr-defined]


class CloudStorageBlobs:
    def __init__(self, client: storage.Client, bucket: str) -> None:
        self._bucket = client.bucket(bucket)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Object names are content hashes: writing one twice writes the same bytes."""
        try:
            self._bucket.blob(name).upload_from_string(data, content_type=content_type)
        except (gexc.ServerError, gexc.TooManyRequests, ConnectionError) as exc:
            raise TransientError(f"media bucket: {type(exc).__name__}") from exc

    def get(self, name: str) -> bytes:
        try:
            data: bytes = self._bucket.blob(name).download_as_bytes()
        except gexc.NotFound as exc:
            raise NotFound(f"media object {name}") from exc
        except (gexc.ServerError, gexc.TooManyRequests, ConnectionError) as exc:
            raise TransientError(f"media bucket: {type(exc).__name__}") from exc
        return data


def storage_client(project: str) -> storage.Client:
    """Against STORAGE_EMULATOR_HOST when set (anonymous, as the emulator takes it)."""
    import os

    from google.cloud import storage  # type: ignore[attr-defined]

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=project, credentials=AnonymousCredentials())
    return storage.Client(project=project)
