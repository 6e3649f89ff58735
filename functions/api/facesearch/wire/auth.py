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
from botocore.awsrequest import AWSRequest, HTTPHeaders
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
        return collection_id is None or self.allows_collection(collection_id)

    def allows_collection(self, collection_id: str) -> bool:
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

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        selected = HTTPHeaders()
        for name in self._signed:
            selected[name] = request.headers.get(name, "")
        return selected

    def payload(self, request: AWSRequest) -> str:
        body = request.body or b""
        return hashlib.sha256(body.encode("utf-8") if isinstance(body, str) else body).hexdigest()

    def expected_signature(self, request: AWSRequest, timestamp: str) -> str:
        request.context["timestamp"] = timestamp
        canonical = self.canonical_request(request)
        return self.signature(self.string_to_sign(request, canonical), request)


@dataclass(frozen=True)
class _Authorization:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key_id: str
    day: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def _parse_authorization(header: str | None) -> _Authorization:
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
    return _Authorization(scope[0], scope[1], scope[2], scope[3], match["signed"].split(";"), match["signature"])


def _check_scope(auth: _Authorization, region: str) -> None:
    if auth.service != SERVICE:
        raise InvalidSignatureException(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if auth.region != region:
        raise InvalidSignatureException(f"Credential should be scoped to a valid region, not '{auth.region}'.")
    if "host" not in auth.signed_headers:
        raise InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.")


def _check_time(timestamp: str, day: str, current: datetime.datetime) -> None:
    try:
        signed_at = datetime.datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=datetime.UTC)
    except ValueError as exc:
        raise IncompleteSignatureException("Authorization header requires existence of a valid X-Amz-Date.") from exc
    if timestamp[:8] != day:
        raise InvalidSignatureException("Credential date does not match X-Amz-Date.")
    if abs(current - signed_at) > MAX_CLOCK_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {timestamp} is now earlier than "
            f"{(current - MAX_CLOCK_SKEW).strftime(SIGV4_TIMESTAMP)} "
            f"({current.strftime(SIGV4_TIMESTAMP)} - 5 min.)"
        )


def authenticate(
    request: SignedRequest,
    keys: KeyRing,
    region: str,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> AccessKey:
    """The access key that signed `request`, or the error AWS gives for why it did not."""
    auth = _parse_authorization(request.headers.get("authorization"))
    key = keys.keys.get(auth.access_key_id)
    if key is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    _check_scope(auth, region)
    timestamp = request.headers.get("x-amz-date", "")
    _check_time(timestamp, auth.day, now())
    content_sha = request.headers.get("x-amz-content-sha256")
    if content_sha and content_sha != hashlib.sha256(request.body).hexdigest():
        raise InvalidSignatureException("The provided 'x-amz-content-sha256' header does not match what was computed.")
    url = f"https://{request.host}{request.path}" + (f"?{request.query}" if request.query else "")
    aws_request = AWSRequest(method=request.method, url=url, headers=dict(request.headers), data=request.body)
    verifier = _Verifier(Credentials(key.access_key_id, key.secret_access_key), region, auth.signed_headers)
    if not hmac.compare_digest(verifier.expected_signature(aws_request, timestamp), auth.signature):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
    return key


def authorize(key: AccessKey, action: str, collection_id: str | None) -> None:
    if not key.allows(action, collection_id):
        target = f" on collection {collection_id}" if collection_id else ""
        raise AccessDeniedException(f"The access key {key.access_key_id} is not allowed to call {action}{target}.")
