"""The only way a render reaches outside its HTML: the project's static files and `data:` URLs.

WeasyPrint's default fetcher follows `file://` anywhere, `http(s)://` (cloud metadata addresses
included), `ftp:` and redirects. This one refuses all of that by raising WeasyPrint's
`URLFetchingError`, which WeasyPrint turns into a warning: the resource is skipped and the render
goes on. Fonts come from fontconfig and never pass through here.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

from odr.config import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "odr" / "static"


class ProjectFetcher(URLFetcher):
    """Serves files under `root` (resolved, so `..` and symlinks cannot escape it) and `data:`.

    `asked` lists every URL WeasyPrint asked for, served or refused, in order.
    """

    def __init__(self, root: str | Path = STATIC_DIR) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False)
        self.root = Path(root).resolve(strict=True)
        self.asked: list[str] = []

    @property
    def base_url(self) -> str:
        return self.root.as_uri() + "/"

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        self.asked.append(url)
        scheme = url.partition(":")[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            return self._static_file(url)
        raise URLFetchingError(f"refused: only static files and data: URLs are fetched ({url})")

    def _static_file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise URLFetchingError(f"refused: a file on another host ({url})")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise URLFetchingError(f"refused: not a file among the static assets ({url})")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
