"""ClientRequestToken: "If you use the same token with multiple <Operation> requests, the same response is
returned. Use ClientRequestToken to prevent the same request from being processed more than once."

The first answer is kept per collection, operation and token, with a digest of the request's other
parameters; the same token with other parameters is IdempotentParameterMismatchException. botocore fills
the token in itself when the caller gives none, and reuses it for its own retries, so a retry whose first
answer was lost (a dropped connection, a timeout) gets that answer instead of a second effect.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from facesearch.errors import IdempotentParameterMismatchException, ServiceError
from facesearch.operations.registry import Operation, Request
from facesearch.services import Services
from facesearch.storage import RequestRecord

TOKEN = "ClientRequestToken"


def request_digest(request: Mapping[str, Any]) -> str:
    def default(value: object) -> str:
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        raise TypeError(type(value).__name__)

    canonical = json.dumps({k: v for k, v in request.items() if k != TOKEN}, sort_keys=True, default=default)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def mismatch(token: str) -> IdempotentParameterMismatchException:
    return IdempotentParameterMismatchException(
        f"The ClientRequestToken {token} was already used with different parameters.")


def idempotent(name: str) -> Callable[[Operation], Operation]:
    """Answer a repeated ClientRequestToken with the first request's answer."""

    def wrap(run: Operation) -> Operation:
        def guarded(services: Services, request: Request) -> Mapping[str, Any]:
            token = request.get(TOKEN)
            if token is None:
                return run(services, request)
            uid = services.storage.collections.get(request["CollectionId"]).uid
            digest = request_digest(request)
            log = services.storage.requests
            previous = log.get(uid, name, token)
            if previous is None:
                try:
                    answer = dict(run(services, request))
                except ServiceError:
                    previous = log.get(uid, name, token)  # a twin request may have done it meanwhile
                    if previous is None or previous.digest != digest:
                        raise
                    return previous.answer
                previous = log.remember(uid, name, token, RequestRecord(digest, answer))
            if previous.digest != digest:
                raise mismatch(token)
            return previous.answer

        guarded.__name__ = run.__name__
        guarded.__doc__ = run.__doc__
        return guarded

    return wrap
