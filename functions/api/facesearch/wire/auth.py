"""SigV4 verification of requests signed for service `rekognition` with this service's own keys.

API Gateway's and Function URLs' IAM auth expect other signing names (`execute-api`, `lambda`), so
an unmodified Rekognition SDK could not pass them; the function checks signatures itself, as
S3-compatible servers do. The signature is recomputed with botocore's own SigV4 signer over the
headers the client says it signed, so canonicalisation is exactly the SDKs'.

Errors, as AWS answers them: no Authorization header -> MissingAuthenticationTokenException;
a malformed one -> IncompleteSignatureException; unknown access key -> UnrecognizedClientException;
wrong signature, wrong scope or clock skew over 5 minutes -> InvalidSignatureException; a key
that may not call the operation or touch the collection -> AccessDeniedException.
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from facesearch.errors import (
    AccessDeniedException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

SERVICE = "rekognition"
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)
_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class AccessKey:
    """One of the service's access keys and what it may do (glob patterns; default everything)."""

    access_key_id: str
    secret_access_key: str
    actions: tuple[str, ...] = ("*",)
    collections: tuple[str, ...] = ("*",)

    def allows(self, action: str, collection_id: str | None) -> bool:
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in self.actions):
            return False
        if collection_id is None:
            return True
        return any(fnmatch.fnmatchcase(collection_id, pattern) for pattern in self.collections)


@dataclass(frozen=True)
class KeyRing:
    keys: Mapping[str, AccessKey] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        """Parse the keys secret: one `{"AccessKeyId", "SecretAccessKey"}` object or `{"Keys": [...]}`."""
        document = json.loads(text)
        entries = document.get("Keys", [document]) if isinstance(document, dict) else document
        keys = {}
        for entry in entries:
            key = AccessKey(
                access_key_id=entry["AccessKeyId"],
                secret_access_key=entry["SecretAccessKey"],
                actions=tuple(entry.get("Actions", ["*"])),
                collections=tuple(entry.get("Collections", ["*"])),
            )
            keys[key.access_key_id] = key
        return cls(keys)


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request a SigV4 signature covers."""

    method: str
    host: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class _Verifier(SigV4Auth):
    """botocore's signer, fed the client's timestamp and signed-header list instead of its own."""

    def __init__(self, credentials: Credentials, region: str, signed_headers: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed_headers

    def headers_to_sign(self, request: AWSRequest):  # type: ignore[no-untyped-def]
        from botocore.awsrequest import HTTPHeaders

        selected = HTTPHeaders()
        for name in self._signed:
            selected[name] = request.headers.get(name, "")
        return selected

    def payload(self, request: AWSRequest) -> str:
        return hashlib.sha256(request.body or b"").hexdigest()

    def expected_signature(self, request: AWSRequest, timestamp: str) -> str:
        request.context["timestamp"] = timestamp
        canonical = self.canonical_request(request)
        return self.signature(self.string_to_sign(request, canonical), request)


def authenticate(
    request: SignedRequest,
    keys: KeyRing,
    region: str,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> AccessKey:
    """The access key that signed `request`, or the error AWS gives for why it did not."""
    header = request.headers.get("authorization")
    if not header:
        raise MissingAuthenticationTokenException("Missing Authentication Token")
    match = _AUTH_RE.match(header.strip())
    if match is None:
        raise IncompleteSignatureException(
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
            "of the AWS4-HMAC-SHA256 scheme."
        )
    scope = match["credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise IncompleteSignatureException("Credential must have exactly 5 slash-delimited elements.")
    access_key_id, day, scope_region, scope_service, _ = scope
    key = keys.keys.get(access_key_id)
    if key is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    if scope_service != SERVICE:
        raise InvalidSignatureException(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if scope_region != region:
        raise InvalidSignatureException(f"Credential should be scoped to a valid region, not '{scope_region}'.")
    timestamp = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=datetime.UTC)
    except ValueError as exc:
        raise IncompleteSignatureException("Authorization header requires existence of a valid X-Amz-Date.") from exc
    if timestamp[:8] != day:
        raise InvalidSignatureException("Credential date does not match X-Amz-Date.")
    signed_headers = match["signed"].split(";")
    if "host" not in signed_headers:
        raise InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    current = now()
    if abs(current - signed_at) > MAX_CLOCK_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {timestamp} is now earlier than "
            f"{(current - MAX_CLOCK_SKEW).strftime(SIGV4_TIMESTAMP)} "
            f"({current.strftime(SIGV4_TIMESTAMP)} - 5 min.)"
        )
    content_sha = request.headers.get("x-amz-content-sha256")
    if content_sha and content_sha != hashlib.sha256(request.body).hexdigest():
        raise InvalidSignatureException("The provided 'x-amz-content-sha256' header does not match what was computed.")
    url = f"https://{request.host}{request.path}" + (f"?{request.query}" if request.query else "")
    headers = {name: value for name, value in request.headers.items()}
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    verifier = _Verifier(Credentials(key.access_key_id, key.secret_access_key), region, signed_headers)
    expected = verifier.expected_signature(aws_request, timestamp)
    if not hmac.compare_digest(expected, match["signature"]):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
    return key


def authorize(key: AccessKey, action: str, collection_id: str | None) -> None:
    if not key.allows(action, collection_id):
        target = f" on collection {collection_id}" if collection_id else ""
        raise AccessDeniedException(f"The access key {key.access_key_id} is not allowed to call {action}{target}.")
