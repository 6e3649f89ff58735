"""The local endpoint's HTTP server: waitress, set up so that no client can tie it up.

waitress reads requests on one asynchronous loop and hands only complete ones to a fixed pool of
threads, so idle or slow connections cost a socket each, never a thread. On top of its settings:
- an idle connection is closed after `idle_timeout`, and a request that has begun must have fully
  arrived within `request_timeout` (a slow-loris trickling one byte at a time is closed too);
- at most `connection_limit` connections are open (more wait in the listen backlog); poll() rather than
  select(), which fails past 1,024 sockets;
- a body is never read past Lambda's invoke limit, and the 413 is Lambda's own answer, not waitress's;
  after it the server stops sending and reads (and drops) what the client still sends, up to `linger_bytes`
  or `linger_seconds`, before it closes: closing on unread data would reset the connection and could destroy
  the answer before a client that is still sending reads it;
- chunked bodies are dechunked and a malformed or negative Content-Length gets a 400 (waitress itself).
"""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask
from waitress.utilities import Error, RequestEntityTooLarge

from local.function_url import INVOKE_LIMIT, payload_too_large

WSGIApp = Callable[[dict[str, Any], Callable[..., object]], Iterable[bytes]]


@dataclass(frozen=True)
class Limits:
    threads: int = 8  # requests the handler runs at once
    connection_limit: int = 1024
    idle_timeout: int = 15  # seconds a connection may send nothing, between requests or within one (whole s)
    request_timeout: float = 30.0  # seconds from a request's first byte to its last
    max_body: int = INVOKE_LIMIT  # a body this big can never fit the invoke payload with the event around it
    linger_bytes: int = 256 << 20  # after a 413: what is read and dropped at most before closing
    linger_seconds: float = 30.0  # ... and for how long at most


class InvokePayloadTooLarge(Error):
    """waitress's "body too large" error, rendered as Lambda renders it."""

    code = 413

    # waitress's stubs say the body is str; waitress itself encodes it and ErrorTask writes bytes
    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:  # type: ignore[override]
        return payload_too_large()


class LambdaShapedErrorTask(ErrorTask):
    def execute(self) -> None:
        error = getattr(self.request, "error", None)  # the parser's error (waitress's stubs leave it out)
        if isinstance(error, RequestEntityTooLarge):
            self.request.error = InvokePayloadTooLarge(str(error.body))  # type: ignore[attr-defined]
            if isinstance(self.channel, DeadlineChannel):
                self.channel.linger_after_close = True  # the rest of the body is still on its way
        super().execute()


class DeadlineChannel(HTTPChannel):
    """An HTTP channel that closes itself when a request takes longer than `request_timeout` to arrive, and
    closes lingering after a refused body (see the module's docstring)."""

    request_timeout = Limits.request_timeout
    linger_bytes = Limits.linger_bytes
    linger_seconds = Limits.linger_seconds
    error_task_class = LambdaShapedErrorTask
    linger_after_close = False
    _timed: object = None  # the partial request the deadline is for
    _deadline: float | None = None
    _linger_until: float | None = None  # set while lingering: the answer is out, the rest is being dropped
    _linger_left = 0

    def handle_close(self) -> None:
        if self.linger_after_close and self._linger_until is None and self.connected and self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_WR)  # the answer and a FIN go out; reading goes on
            except OSError:
                return super().handle_close()
            self._linger_until = time.monotonic() + self.linger_seconds
            self._linger_left = self.linger_bytes
            self.will_close = self.close_when_flushed = False
            return None
        return super().handle_close()

    def handle_read(self) -> None:
        if self._linger_until is None:
            return super().handle_read()
        try:
            data = self.recv(self.adj.recv_bytes)
        except OSError:
            data = b""
        self._linger_left -= len(data)
        if not data or self._linger_left <= 0:  # the client is done (or sent too much): close for good
            self.linger_after_close = False
            super().handle_close()
        return None

    def received(self, data: bytes) -> bool:
        result = bool(super().received(data))
        if self.request is None:
            self._timed, self._deadline = None, None
        elif self.request is not self._timed:
            self._timed, self._deadline = self.request, time.monotonic() + self.request_timeout
        return result

    def readable(self) -> bool:
        # The loop asks every channel this at least once a second (waitress's asyncore_loop_timeout).
        if self._linger_until is not None:
            if time.monotonic() > self._linger_until:
                self.linger_after_close = False
                super().handle_close()
                return False
            return True
        if self._deadline is not None and not self.requests and time.monotonic() > self._deadline:
            self.will_close = True
        return bool(super().readable())

    def writable(self) -> bool:
        return self._linger_until is None and bool(super().writable())


def channel_class(limits: Limits) -> type[HTTPChannel]:
    return type("FunctionUrlChannel", (DeadlineChannel,), {"request_timeout": limits.request_timeout,
                                                           "linger_bytes": limits.linger_bytes,
                                                           "linger_seconds": limits.linger_seconds})


def allow_open_files(needed: int) -> None:
    """Raise this process's soft open-file limit towards `needed` (never past the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def make_server(app: WSGIApp, host: str, port: int, limits: Limits = Limits()) -> BaseWSGIServer:
    allow_open_files(limits.connection_limit + 256)  # + the backend's connections, models, logs
    server = create_server(
        app, host=host, port=port, threads=limits.threads, connection_limit=limits.connection_limit,
        channel_timeout=limits.idle_timeout, cleanup_interval=1,
        max_request_body_size=limits.max_body, asyncore_use_poll=True, log_socket_errors=False,
        ident="facesearch-local",
    )
    if not isinstance(server, BaseWSGIServer):  # one host and port make one listening socket, never several
        raise RuntimeError(f"expected one listening socket for {host}:{port}")
    server.channel_class = channel_class(limits)
    return server
