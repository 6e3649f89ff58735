"""The local endpoint's HTTP server: waitress, set up so that no client can tie it up.

waitress reads requests on one asynchronous loop and hands only complete ones to a fixed pool of
threads, so idle or slow connections cost a socket each, never a thread. On top of its settings:
- an idle connection is closed after `idle_timeout`, and a request that has begun must have fully
  arrived within `request_timeout` (a slow-loris trickling one byte at a time is closed too);
- at most `connection_limit` connections are open (more wait in the listen backlog); poll() rather than
  select(), which fails past 1,024 sockets;
- a body is never read past Lambda's invoke limit, and the 413 is Lambda's own answer, not waitress's;
- chunked bodies are dechunked and a malformed or negative Content-Length gets a 400 (waitress itself).
"""

from __future__ import annotations

import resource
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
        super().execute()


class DeadlineChannel(HTTPChannel):
    """An HTTP channel that closes itself when a request takes longer than `request_timeout` to arrive."""

    request_timeout = Limits.request_timeout
    error_task_class = LambdaShapedErrorTask
    _timed: object = None  # the partial request the deadline is for
    _deadline: float | None = None

    def received(self, data: bytes) -> bool:
        result = bool(super().received(data))
        if self.request is None:
            self._timed, self._deadline = None, None
        elif self.request is not self._timed:
            self._timed, self._deadline = self.request, time.monotonic() + self.request_timeout
        return result

    def readable(self) -> bool:
        # The loop asks every channel this at least once a second (waitress's asyncore_loop_timeout).
        if self._deadline is not None and not self.requests and time.monotonic() > self._deadline:
            self.will_close = True
        return bool(super().readable())


def channel_class(request_timeout: float) -> type[HTTPChannel]:
    return type("FunctionUrlChannel", (DeadlineChannel,), {"request_timeout": request_timeout})


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
    server.channel_class = channel_class(limits.request_timeout)
    return server
