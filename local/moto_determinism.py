"""Replaying a request through moto makes the state it made the first time, identifiers and times included.

moto draws its identifiers (S3 version ids, delete markers, request ids...) from one shared `mock_random`,
names multipart uploads from os.urandom, and stamps objects, tables and buckets with the clock. A log
replayed at the next start would otherwise give every object a new VersionId, every upload a new
UploadId and every object a new LastModified, so a client holding them would find nothing.

So each request of a durable service runs with its own seed and time (`fixed(seed, now)`), both written
into its log record and used again when it is replayed. They hold only in the calling thread: S3 and
DynamoDB requests run side by side (local/backend.py), and the other thread keeps drawing from moto's
own generator and clock.
"""

from __future__ import annotations

import base64
import datetime
import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_local = threading.local()
# the moto modules that stamp durable state with `utcnow` (imported by name, so patched there)
CLOCK_MODULES = ("moto.s3.models", "moto.dynamodb.models", "moto.dynamodb.models.table")
CLOCK = "utcnow"


def _rng() -> Any:
    return getattr(_local, "rng", None)


def _now() -> float | None:
    return getattr(_local, "now", None)


@contextmanager
def fixed(seed: int, now: float) -> Iterator[None]:
    """Within: moto's random numbers come from `seed` and its clock says `now` (epoch seconds), in this thread."""
    from moto.moto_api._internal.moto_random import MotoRandom

    previous = (_rng(), _now())
    _local.rng, _local.now = MotoRandom(seed), now
    try:
        yield
    finally:
        _local.rng, _local.now = previous


def utc(now: float) -> datetime.datetime:
    """moto's timestamps: naive UTC datetimes."""
    return datetime.datetime.fromtimestamp(now, datetime.UTC).replace(tzinfo=None)


def install() -> None:
    """Patch moto in this process (idempotent)."""
    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.s3 import models as s3_models

    if getattr(mock_random, "per_request", False):
        return

    class PerRequestRandom(MotoRandom):
        """moto's shared generator, except in a thread inside `fixed`, where it is that request's own."""

        per_request = True

        def __getattribute__(self, name: str) -> Any:
            rng = _rng()
            if rng is not None and not name.startswith("__"):
                return getattr(rng, name)
            return super().__getattribute__(name)

    mock_random.__class__ = PerRequestRandom

    for name in CLOCK_MODULES:
        module = importlib.import_module(name)
        real = getattr(module, CLOCK, None)
        if real is not None:
            setattr(module, CLOCK, _clock(real))

    upload_init = s3_models.FakeMultipart.__init__

    def multipart_init(self: Any, *args: Any, **kwargs: Any) -> None:
        upload_init(self, *args, **kwargs)
        rng = _rng()
        if rng is not None:  # moto's own format, from the request's seed instead of os.urandom
            raw = base64.b64encode(rng.randbytes(s3_models.UPLOAD_ID_BYTES)).decode("ascii")
            self.id = raw.replace("=", "").replace("+", "").replace("/", "")

    bucket_init = s3_models.FakeBucket.__init__

    def bucket_init_at(self: Any, *args: Any, **kwargs: Any) -> None:
        bucket_init(self, *args, **kwargs)
        now = _now()
        if now is not None:  # FakeBucket reads datetime.now itself, not utcnow
            self.creation_date = datetime.datetime.fromtimestamp(now, datetime.UTC)

    s3_models.FakeMultipart.__init__ = multipart_init  # type: ignore[method-assign]
    s3_models.FakeBucket.__init__ = bucket_init_at  # type: ignore[method-assign]


def _clock(real: Any) -> Any:
    def utcnow() -> datetime.datetime:
        now = _now()
        return real() if now is None else utc(now)

    return utcnow
