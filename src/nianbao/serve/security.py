"""What every response of nianbao serve carries, and how uploads and credentials are checked."""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse, Response

# Pages: nothing but this server's own style sheet; no script, no frames, forms only to this server.
PAGE_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
FILE_POLICY = "default-src 'none'; sandbox"  # a stored file, should a browser ever render one
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SESSION_COOKIE = "nianbao_session"
LOGIN_COOKIE = "nianbao_login"  # the login form's CSRF token, double-submitted


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


class BodyLimit:
    """Refuse a form's body declared larger than ``limit`` (413), or of undeclared length (411), before
    any handler reads it. Uploads are left to their handler, which caps them as they arrive and says so
    in the answer's own form (page or JSON)."""

    UPLOAD = re.compile(r"^/o/[^/]+$")

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS") and not self.UPLOAD.match(scope["path"]):
            declared = dict(scope["headers"]).get(b"content-length")
            refused = None
            if declared is None:
                refused = ("请求缺少长度", 411)
            elif not declared.isdigit() or int(declared) > self.limit:
                refused = ("请求过大", 413)
            if refused:
                await PlainTextResponse(*refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def attachment(data: bytes, name: str) -> Response:
    """A stored file as a download, never shown inline, whatever its bytes look like."""
    from urllib.parse import quote

    fallback = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in name) or "file"
    media = XLSX if name.lower().endswith(".xlsx") else "application/octet-stream"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}",
        "Content-Security-Policy": FILE_POLICY})


def sniff(data: bytes) -> str | None:
    """The suffix a file's content says it has (.xlsx, .xlsm, or .xls for an OLE file: a legacy or an
    encrypted workbook), or None when it is no workbook; the name it was sent under is not trusted.
    Only the zip's directory is read here: the package is inflated (within limits) by the checker."""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return ".xls"
    if data[:4] != b"PK\x03\x04":
        return None
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None
    if "xl/workbook.xml" not in names:
        return None
    return ".xlsm" if "xl/vbaProject.bin" in names else ".xlsx"


def basic_password(header: str | None) -> str | None:
    """The password of an HTTP Basic ``Authorization`` header for user admin, or None."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password if user == "admin" else None
