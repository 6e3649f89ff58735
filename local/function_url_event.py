"""Turns an HTTP request into the Lambda Function URL event (payload 2.0) the deployed function gets."""

from __future__ import annotations

import base64
import datetime
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def function_url_event(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    lowered = {name.lower(): value for name, value in headers.items()}
    now = datetime.datetime.now(datetime.UTC)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object the handler and powertools read."""

    function_name: str = "facesearch-local"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:facesearch-local"
    aws_request_id: str = ""

    @classmethod
    def fresh(cls) -> LambdaContext:
        return cls(aws_request_id=str(uuid.uuid4()))
