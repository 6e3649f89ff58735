"""S3's part of the durable backend: which requests are writes, and its snapshot.

A snapshot holds, for each bucket, the bucket-level requests that made and configured it (CreateBucket,
then the latest PutBucketVersioning, PutBucketPolicy, PutBucketTagging... as they were sent), then every
object version, delete marker and unfinished multipart upload as it is now. Bodies go to content-named
files beside the snapshot (local/durable.py `Blobs`), each written once and shared by later snapshots,
so a snapshot file stays small and a body is never held whole in memory to write or load it.

What comes back after a restart: keys, bodies, ETags, VersionIds, LastModified, metadata, content
headers, storage class, encryption settings, object lock, checksums, object tags and unfinished uploads
(with their UploadIds). Not kept past a snapshot: object ACLs (they become private), and a restored
object no longer knows its multipart layout (GetObject with PartNumber sees one part). Bucket event
notifications, which the service never configures, fire again when a log is replayed.
"""

from __future__ import annotations

import datetime
import ipaddress
import urllib.parse
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from local.durable import Blobs, Meta, Record
from local.moto_determinism import utc

WRITE_METHODS = frozenset({"PUT", "POST", "DELETE"})
CHUNK = 1 << 20
# FakeKey attributes a snapshot carries as they are (name in the record = attribute)
KEY_FIELDS = ("encryption", "kms_key_id", "bucket_key_enabled", "lock_mode", "lock_legal_status", "lock_until",
              "checksum_algorithm", "checksum_value", "checksum_type", "checksum_parts", "website_redirect_location")


def _virtual_host(host: str) -> str | None:
    """The bucket named by a virtual-hosted-style Host header, as moto reads it; None for path style."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not name or name.startswith(("localhost", "[")) or "." not in name:
        return None
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    if "amazonaws.com" in name:
        head, found, _ = name.partition(".s3")
        return head if found and head and not head.startswith("s3") else None
    return name.split(".", 1)[0]


def bucket_and_key(environ: Mapping[str, str]) -> tuple[str, str]:
    path = environ.get("PATH_INFO", "").lstrip("/")
    bucket = _virtual_host(environ.get("HTTP_HOST", ""))
    if bucket is not None:
        return bucket, path
    name, _, key = path.partition("/")
    return name, key


def subresource(environ: Mapping[str, str]) -> str:
    """The bucket subresource a request is about, canonically: "" (the bucket), "versioning", "id=x&inventory"..."""
    pairs = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return urllib.parse.urlencode(sorted(pair for pair in pairs
                                         if not pair[0].lower().startswith(("x-amz-", "x-id"))))


class S3Model:
    service = "s3"

    def __init__(self) -> None:
        # bucket -> subresource -> the request that set it; "" is CreateBucket
        self.buckets: dict[str, dict[str, Record]] = {}
        # id(FakeKey) -> (the key, the blob holding its body): bodies already on disk are not written again
        self.stored: dict[int, tuple[weakref.ref[Any], str]] = {}

    def is_write(self, environ: Mapping[str, str]) -> bool:
        return environ.get("REQUEST_METHOD", "") in WRITE_METHODS

    def observe(self, record: Record) -> None:
        bucket, key = bucket_and_key(record.environ)
        method = record.environ.get("REQUEST_METHOD", "")
        if not bucket or key or method == "POST":
            return  # object-level (or DeleteObjects, a form upload): the objects are in the snapshot
        sub = subresource(record.environ)
        if method == "PUT" and not sub:
            self.buckets[bucket] = {"": record}
        elif method == "DELETE" and not sub:
            self.buckets.pop(bucket, None)
        elif bucket in self.buckets:
            if method == "PUT":
                self.buckets[bucket].pop(sub, None)  # re-inserted last: replayed in the order they were set
                self.buckets[bucket][sub] = record
            else:
                self.buckets[bucket].pop(sub, None)

    # --- snapshot -----------------------------------------------------------------------------------

    def snapshot(self, blobs: Blobs) -> Iterator[tuple[Meta, bytes]]:
        stored: dict[int, tuple[weakref.ref[Any], str]] = {}
        for account, partition, bucket in _buckets():
            requests = self.buckets.get(bucket.name)
            if requests and "" in requests:
                for record in requests.values():
                    yield record.meta(), record.body
            else:  # made some other way (never by the service): the bucket itself, in its region
                yield {"type": "s3-bucket", "account": account, "partition": partition, "bucket": bucket.name,
                       "region": bucket.region_name}, b""
            where = {"account": account, "partition": partition, "bucket": bucket.name}
            for name, versions in list(bucket.keys.lists()):
                for version in versions:
                    yield self._version(where, name, version, blobs, stored), b""
            for upload in list(bucket.multiparts.values()):
                yield self._upload(where, upload, blobs, stored), b""
        self.stored = stored

    def _blob(self, key: Any, blobs: Blobs, stored: dict[int, tuple[weakref.ref[Any], str]]) -> str:
        known = self.stored.get(id(key))
        if known is not None and known[0]() is key:
            digest = known[1]
        else:
            digest, _ = blobs.write(_chunks(key))
        stored[id(key)] = (weakref.ref(key), digest)
        return digest

    def _version(self, where: Meta, name: str, version: Any, blobs: Blobs,
                 stored: dict[int, tuple[weakref.ref[Any], str]]) -> Meta:
        from moto.s3.models import FakeDeleteMarker

        common = {**where, "key": name, "version_id": version._version_id,
                  "last_modified": _epoch(version.last_modified)}
        if isinstance(version, FakeDeleteMarker):
            return {"type": "s3-delete-marker", **common}
        from moto.s3.models import s3_backends

        tags = s3_backends[where["account"]][where["partition"]].tagger.get_tag_dict_for_resource(version.arn)
        digest = self._blob(version, blobs, stored)
        return {"type": "s3-object", **common, "versioned": version._is_versioned, "etag": version.etag.strip('"'),
                "size": version.size, "blob": digest, "blobs": [digest], "metadata": dict(version.metadata),
                "storage_class": version.storage_class, "tags": tags,
                **{field: getattr(version, field, None) for field in KEY_FIELDS}}

    def _upload(self, where: Meta, upload: Any, blobs: Blobs,
                stored: dict[int, tuple[weakref.ref[Any], str]]) -> Meta:
        parts = [{"number": number, "etag": upload.parts[number].etag.strip('"'), "size": upload.parts[number].size,
                  "blob": self._blob(upload.parts[number], blobs, stored)}
                 for number in upload.partlist]
        return {"type": "s3-upload", **where, "upload_id": upload.id, "key": upload.key_name,
                "metadata": dict(upload.metadata), "storage": upload.storage, "tags": upload.tags,
                "sse_encryption": upload.sse_encryption, "kms_key_id": upload.kms_key_id, "parts": parts,
                "blobs": [part["blob"] for part in parts]}

    # --- restore ------------------------------------------------------------------------------------

    def restore(self, meta: Meta, body: bytes, blobs: Blobs) -> None:
        from moto.s3.models import s3_backends

        kind = meta.get("type")
        backend = s3_backends[meta["account"]][meta["partition"]]
        if kind == "s3-bucket":
            backend.create_bucket(meta["bucket"], meta["region"])
            return
        bucket = backend.get_bucket(meta["bucket"])
        if kind == "s3-object":
            self._restore_object(backend, bucket, meta, blobs)
        elif kind == "s3-delete-marker":
            self._restore_delete_marker(bucket, meta)
        elif kind == "s3-upload":
            self._restore_upload(bucket, meta, blobs)
        else:
            raise ValueError(f"not an S3 state record: {kind!r}")

    def _restore_object(self, backend: Any, bucket: Any, meta: Meta, blobs: Blobs) -> None:
        from moto.s3.models import FakeKey

        key = FakeKey(name=meta["key"], value=b"", account_id=meta["account"], region_name=bucket.region_name,
                      storage=meta.get("storage_class"), etag=meta["etag"], is_versioned=meta["versioned"],
                      version_id=meta["version_id"], bucket_name=bucket.name)
        self._fill(key, meta["blob"], meta["size"], blobs)
        key.last_modified = utc(meta["last_modified"])
        key._metadata.clear()
        key._metadata.update(meta["metadata"])
        for field in KEY_FIELDS:
            setattr(key, field, meta.get(field))
        bucket.keys.setlist(meta["key"], [*bucket.keys.getlist(meta["key"], []), key])
        if meta.get("tags"):
            backend.tagger.tag_resource(key.arn, [{"Key": k, "Value": v} for k, v in meta["tags"].items()])

    def _restore_delete_marker(self, bucket: Any, meta: Meta) -> None:
        from moto.s3.models import FakeDeleteMarker, FakeKey

        versions = bucket.keys.getlist(meta["key"], [])
        marker = FakeDeleteMarker(key=versions[-1] if versions else FakeKey(meta["key"], b"", meta["account"],
                                                                           bucket.region_name))
        marker._version_id = meta["version_id"]
        marker.last_modified = utc(meta["last_modified"])
        bucket.keys.setlist(meta["key"], [*versions, marker])

    def _restore_upload(self, bucket: Any, meta: Meta, blobs: Blobs) -> None:
        from moto.s3.models import FakeKey, FakeMultipart
        from requests.structures import CaseInsensitiveDict

        upload = FakeMultipart(meta["key"], CaseInsensitiveDict(meta["metadata"]), account_id=meta["account"],
                               region_name=bucket.region_name, storage=meta["storage"], tags=meta["tags"],
                               sse_encryption=meta["sse_encryption"], kms_key_id=meta["kms_key_id"])
        upload.id = meta["upload_id"]
        for part in meta["parts"]:
            key = FakeKey(part["number"], b"", account_id=meta["account"], region_name=bucket.region_name,
                          etag=part["etag"], encryption=upload.sse_encryption, kms_key_id=upload.kms_key_id)
            self._fill(key, part["blob"], part["size"], blobs)
            upload.parts[part["number"]] = key
            upload.partlist.append(part["number"])
        upload.partlist.sort()
        bucket.multiparts[upload.id] = upload

    def _fill(self, key: Any, digest: str, size: int, blobs: Blobs) -> None:
        """Stream a stored body into a restored key, a chunk at a time."""
        with key.lock:
            buffer = key._value_buffer
            buffer.seek(0)
            buffer.truncate()
            for chunk in blobs.read(digest, CHUNK):
                buffer.write(chunk)
            key.contentsize = size
        self.stored[id(key)] = (weakref.ref(key), digest)

    seconds_per_unit = 0.002  # a FakeKey and its body file: ~1.5 ms here

    def units(self) -> int:
        return sum(len(versions) for _, _, bucket in _buckets() for _, versions in bucket.keys.lists())


def _chunks(key: Any) -> Iterator[bytes]:
    """A key's body, a chunk at a time (moto keeps it in a spooled temporary file)."""
    with key.lock:
        buffer = key._value_buffer
        buffer.seek(0)
        while chunk := buffer.read(CHUNK):
            yield chunk


def _epoch(moment: datetime.datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _buckets() -> Iterator[tuple[str, str, Any]]:
    from moto.s3.models import s3_backends

    for account, partitions in list(s3_backends.items()):
        for partition, backend in list(partitions.items()):
            for bucket in list(backend.buckets.values()):
                yield account, partition, bucket
