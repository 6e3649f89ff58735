"""Lambda's asynchronous Invoke API, standing in for the account's: `InvocationType=Event` invocations are
accepted (202) and queued, as Lambda queues them; the test then delivers each one to the emulator running the
named function, one at a time, until none is left.

The functions find it through AWS_ENDPOINT_URL_LAMBDA, as botocore reads it: the code that invokes (the API
function starting a video job, the worker handing on segments and the merge) is the deployed code, unchanged.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


class AsyncLambda:
    def __init__(self) -> None:
        self.queue: deque[tuple[str, dict[str, Any]]] = deque()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                parts = self.path.split("/")  # /2015-03-31/functions/<name>/invocations
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if len(parts) < 5 or parts[2] != "functions" or self.headers.get("X-Amz-Invocation-Type") != "Event":
                    self.send_response(400)
                    self.end_headers()
                    return
                with owner.lock:
                    owner.queue.append((unquote(parts[3]).split(":")[-1], json.loads(body or b"{}")))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def deliver(self, functions: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]], limit: int = 200
                ) -> list[tuple[str, dict[str, Any]]]:
        """Run every queued invocation (and those they queue) on its function; returns what was delivered."""
        delivered = []
        while len(delivered) < limit:
            with self.lock:
                if not self.queue:
                    return delivered
                name, event = self.queue.popleft()
            delivered.append((name, event))
            functions[name](event)
        raise AssertionError(f"more than {limit} invocations: {delivered[-5:]}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
