"""The HTTP request inside a Lambda Function URL / API Gateway HTTP API event (payload format 2.0)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from facesearch.wire.auth import SignedRequest


def signed_request_from_event(event: Mapping[str, Any]) -> SignedRequest:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    return SignedRequest(
        method=http.get("method", "POST").upper(),
        host=headers.get("host", context.get("domainName", "")),
        path=event.get("rawPath") or http.get("path") or "/",
        query=event.get("rawQueryString") or "",
        headers=headers,
        body=raw,
    )
