"""The demo page of `make serve` (GET /demo): drop a photo, see its faces boxed and each face's best matches.

Only static files are served here, and they hold no keys and no data: the page signs its own requests to
`POST /` with SigV4 in the browser (WebCrypto), with the key pair typed in or passed in the URL fragment of
the link `make serve` prints (a fragment never leaves the browser), so the service checks them like any
client's. `demo_response` answers the page's paths and nothing else; `with_demo` puts it in front of the
Function URL's WSGI app, so serve.py changes by one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PAGE_DIR = Path(__file__).resolve().parent / "demo_page"
PREFIX = "/demo"
FILES = {  # URL path -> (file, content type)
    PREFIX: ("index.html", "text/html; charset=utf-8"),
    PREFIX + "/": ("index.html", "text/html; charset=utf-8"),
    PREFIX + "/demo.js": ("demo.js", "text/javascript; charset=utf-8"),
    PREFIX + "/sigv4.js": ("sigv4.js", "text/javascript; charset=utf-8"),
    PREFIX + "/demo.css": ("demo.css", "text/css; charset=utf-8"),
}
# The page runs only its own scripts and talks only to this origin; images stay in the browser (blob:, data:).
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
                                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]

Response = tuple[str, list[tuple[str, str]], bytes]


def demo_response(method: str, path: str) -> Response | None:
    """The page's static files for GET/HEAD under /demo; None for every other request (the service's)."""
    if not (path == PREFIX or path.startswith(PREFIX + "/")) or method not in ("GET", "HEAD"):
        return None
    entry = FILES.get(path)
    if entry is None:
        return "404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), *SECURITY_HEADERS], b"not found\n"
    name, content_type = entry
    body = (PAGE_DIR / name).read_bytes()
    return "200 OK", [("Content-Type", content_type), *SECURITY_HEADERS], b"" if method == "HEAD" else body


def demo_url(endpoint: str, key_id: str, secret: str, region: str) -> str:
    """The page's address with the keys in its fragment (read by the page, never sent to a server)."""
    from urllib.parse import quote

    return f"{endpoint}{PREFIX}#key={quote(key_id)}&secret={quote(secret, safe='')}&region={quote(region)}"


WSGIApp = Callable[[dict[str, Any], Callable[..., object]], Iterable[bytes]]


def with_demo(app: WSGIApp) -> WSGIApp:
    """A WSGI app answering the demo page's paths itself and handing everything else to `app`."""

    def dispatch(environ: dict[str, Any], start_response: Callable[..., object]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        answer = demo_response(str(environ.get("REQUEST_METHOD", "GET")), path)
        if answer is None:
            return app(environ, start_response)
        status, headers, body = answer
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return dispatch
