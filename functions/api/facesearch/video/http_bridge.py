"""One seekable file (the S3 range reader) served to FFmpeg over loopback HTTP.

Why: FFmpeg's own http protocol seeks with `Range: bytes=N-` requests and 64-bit offsets, where OpenCV's
Python file-object bridge truncates offsets to 32 bits (objects of 2 GiB and more misread or crash) and
crashes the process when a read raises. A presigned https URL would work too, but the wheel's static OpenSSL
looks for CA certificates at a build path, and it could not pin the ETag. So boto3 stays on the Python side
(credentials, retries, the ETag pin, counting) and FFmpeg gets a plain http://127.0.0.1 URL, whatever the
object's size. A read that fails cuts the response and fails the rest fast; the first error is raised again
when the bridge closes, so the caller sees why (not what FFmpeg made of a cut stream).

    with HttpBridge(reader, reader.size) as url:
        for timestamp, rgb in sample_frames(url, start, end, step): ...
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

CHUNK = 256 * 1024
SEND_BUFFER = 256 * 1024  # bounds how far ahead of FFmpeg the server reads when FFmpeg abandons a response
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


class Seekable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class HttpBridge:
    """A loopback HTTP server for one file of known size, at an unguessable path; reads under one lock."""

    def __init__(self, source: Seekable, size: int) -> None:
        self.source, self.size = source, size
        self.name = f"{secrets.token_urlsafe(16)}.mp4"
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # FFmpeg's requests are not news
                pass

            def do_GET(self) -> None:
                bridge.serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.name}"

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self.error is not None:
            raise self.error  # the root cause (e.g. S3 unreachable) wins over FFmpeg's view of a cut stream

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path.split("?")[0] != f"/{self.name}":
            handler.send_error(404)
            return
        if self.error is not None:  # fail fast: FFmpeg retries a cut response, S3 need not see those
            handler.send_error(503)
            return
        match = _RANGE.fullmatch(handler.headers.get("Range", "") or "")
        start = int(match.group(1)) if match else 0
        end = min(int(match.group(2)) + 1 if match and match.group(2) else self.size, self.size)
        if start >= self.size:
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{self.size}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        handler.send_response(206 if match else 200)
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Content-Length", str(end - start))
        if match:
            handler.send_header("Content-Range", f"bytes {start}-{end - 1}/{self.size}")
        handler.end_headers()
        self._send(handler, start, end)

    def _send(self, handler: BaseHTTPRequestHandler, start: int, end: int) -> None:
        position = start
        while position < end:
            try:
                with self._lock:
                    self.source.seek(position)
                    data = self.source.read(min(CHUNK, end - position))
                if not data:
                    raise OSError(f"short read at {position}")
            except Exception as error:  # record it and cut the response: FFmpeg sees a short body
                self.error = self.error or error
                handler.close_connection = True
                return
            try:
                handler.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # FFmpeg moved on (a seek): normal
                handler.close_connection = True
                return
            position += len(data)
