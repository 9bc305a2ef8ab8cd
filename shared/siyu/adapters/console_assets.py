"""The ops console's files, bundled with the function (no CDN: the bank's network may
reach nothing else) and served with a strict Content-Security-Policy: scripts, styles and
data only from this origin, no inline code, no framing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Request, Response

from siyu.domain.errors import NotFound

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
PREFIX = "/console"
INDEX = "index.html"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Revalidated on every load (a 304 when unchanged): a deploy is seen at once.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


class Assets:
    """Every file under siyu/console, read once when the instance starts."""

    def __init__(self, directory: Path = CONSOLE_DIR) -> None:
        self._files: dict[str, Asset] = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            if path.suffix not in TYPES:
                continue
            body = path.read_bytes()
            name = path.relative_to(directory).as_posix()
            etag = hashlib.sha256(body).hexdigest()[:32]
            self._files[name] = Asset(body, TYPES[path.suffix], etag)

    def routes(self) -> list[tuple[str, str]]:
        """(GET, path) of the console's page and of each file (API Gateway names each)."""
        names = [f"{PREFIX}/{n}" for n in self._files if n != INDEX]
        return sorted([("GET", PREFIX), *(("GET", n) for n in names)])

    def serve(self, request: Request) -> Response:
        path = (request.script_root + request.path).rstrip("/")
        name = INDEX if path in ("", PREFIX) else path.removeprefix(PREFIX + "/")
        asset = self._files.get(name) if path.startswith(PREFIX) else None
        if asset is None or request.method not in ("GET", "HEAD"):
            raise NotFound(f"no console page {path}")
        if request.headers.get("If-None-Match", "").strip('"') == asset.etag:
            return Response(status=304, headers={**HEADERS, "ETag": f'"{asset.etag}"'})
        return Response(
            asset.body,
            200,
            headers={**HEADERS, "ETag": f'"{asset.etag}"', "Content-Type": asset.content_type},
        )
