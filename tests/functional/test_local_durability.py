"""The embedded backend with a data directory (local/durable.py) keeps what it acknowledged, through boto3.

Each test runs `python -m local.backend --data-dir <tmp>` as a subprocess, kills it with SIGKILL (nothing
gets a chance to flush or close), starts it again on the same directory and compares what S3 and
DynamoDB answer with what they answered before: once replayed from the log, once more from the
snapshot the first restart wrote.
"""

from __future__ import annotations

import hashlib
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local import backend as local_backend
from local import wal
from local.durable import Compaction
from local.provision import create_bucket, create_table

Clients = dict[str, Any]


NEVER = Compaction(min_seconds=1e9, min_bytes=1 << 60)  # the log only grows
EAGER = Compaction(min_seconds=0, ratio=0)  # compacts after every write, and at a start after any


@contextmanager
def running(data_dir: Path, *, kill: bool = True, compaction: Compaction = NEVER,
            **options: Any) -> Iterator[tuple[Clients, local_backend.Backend]]:
    """A backend on the data directory and its S3 and DynamoDB clients; SIGKILLed afterwards (or stopped)."""
    backend = local_backend.start(data_dir=data_dir, timeout=120, compaction=compaction, **options)
    config = Config(retries={"total_max_attempts": 1})
    kwargs = {"endpoint_url": backend.endpoint, "region_name": "us-east-1", "aws_access_key_id": "moto",
              "aws_secret_access_key": "moto", "config": config}
    try:
        yield {"s3": boto3.client("s3", **kwargs), "dynamodb": boto3.client("dynamodb", **kwargs),
               "make": lambda service: boto3.client(service, **kwargs)}, backend
    finally:
        if kill:
            backend.process.send_signal(signal.SIGKILL)
            backend.process.wait()
        else:
            backend.stop()


def restored(backend: local_backend.Backend, service: str) -> str:
    """What the backend said it restored for a service; it must have said nothing worse."""
    assert [note for note in backend.notes if note.startswith("warning")] == []
    return next(note for note in backend.notes if note.startswith(f"restored {service}:"))


def s3_state(s3: Any) -> dict[str, Any]:
    """Everything a client can see of S3: buckets, their settings, every version with its body, uploads."""
    state: dict[str, Any] = {}
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
        versions = s3.list_object_versions(Bucket=name)
        objects = []
        for version in versions.get("Versions", []):
            which = {"Bucket": name, "Key": version["Key"]}
            if versioning:
                which["VersionId"] = version["VersionId"]
            head = s3.head_object(**which, ChecksumMode="ENABLED")
            body = s3.get_object(**which)["Body"].read()
            objects.append({
                **{field: version[field] for field in ("Key", "VersionId", "IsLatest", "ETag", "LastModified", "Size")},
                **{field: head.get(field) for field in ("ContentType", "Metadata", "ChecksumCRC32", "StorageClass",
                                                        "CacheControl", "ContentDisposition")},
                "md5": hashlib.md5(body).hexdigest(),
                "tags": s3.get_object_tagging(**which)["TagSet"],
            })
        uploads = [{"Key": upload["Key"], "UploadId": upload["UploadId"],
                    "Parts": [(part["PartNumber"], part["ETag"], part["Size"])
                              for part in s3.list_parts(Bucket=name, Key=upload["Key"],
                                                        UploadId=upload["UploadId"]).get("Parts", [])]}
                   for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", [])]
        try:
            tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError:
            tags = None
        state[name] = {
            "created": bucket["CreationDate"],
            "region": s3.get_bucket_location(Bucket=name).get("LocationConstraint"),
            "versioning": versioning,
            "tags": tags,
            "objects": objects,
            "markers": [{field: marker[field] for field in ("Key", "VersionId", "IsLatest", "LastModified")}
                        for marker in versions.get("DeleteMarkers", [])],
            "uploads": uploads,
        }
    return state


def fill_s3(s3: Any) -> dict[str, Any]:
    """Buckets and objects of every kind the snapshot has to carry; returns the unfinished upload."""
    create_bucket(s3, "plain-bucket", "us-east-1")
    s3.put_object(Bucket="plain-bucket", Key="a/photo.jpg", Body=b"\xff\xd8" + bytes(range(256)) * 40,
                  ContentType="image/jpeg", Metadata={"who": "anna", "Mixed-Case": "kept"}, CacheControl="no-cache",
                  ContentDisposition="inline", Tagging="kind=photo&size=small")
    s3.put_object(Bucket="plain-bucket", Key="a/photo.jpg", Body=b"replaced")  # an overwrite: only this one stays
    s3.put_object(Bucket="plain-bucket", Key="empty", Body=b"")
    s3.put_object(Bucket="plain-bucket", Key="spaces and ü/%2F?.bin", Body=b"odd key", StorageClass="STANDARD_IA")
    s3.put_object(Bucket="plain-bucket", Key="gone", Body=b"deleted")
    s3.delete_objects(Bucket="plain-bucket", Delete={"Objects": [{"Key": "gone"}], "Quiet": True})
    s3.copy_object(Bucket="plain-bucket", Key="copy", CopySource={"Bucket": "plain-bucket", "Key": "empty"})
    part = b"p" * (5 << 20)
    done = s3.create_multipart_upload(Bucket="plain-bucket", Key="big", ContentType="video/mp4")
    etags = [s3.upload_part(Bucket="plain-bucket", Key="big", UploadId=done["UploadId"], PartNumber=n,
                            Body=part if n == 1 else b"tail")["ETag"] for n in (1, 2)]
    s3.complete_multipart_upload(Bucket="plain-bucket", Key="big", UploadId=done["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in zip((1, 2), etags, strict=True)]})
    unfinished = s3.create_multipart_upload(Bucket="plain-bucket", Key="unfinished", Metadata={"step": "1"})
    first = s3.upload_part(Bucket="plain-bucket", Key="unfinished", UploadId=unfinished["UploadId"], PartNumber=1,
                           Body=part)["ETag"]

    create_bucket(s3, "versioned-bucket", "eu-west-1")
    s3.put_object(Bucket="versioned-bucket", Key="doc", Body=b"before versioning")  # VersionId null
    s3.put_bucket_versioning(Bucket="versioned-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket="versioned-bucket", Tagging={"TagSet": [{"Key": "team", "Value": "faces"}]})
    for text in (b"v1", b"v2"):
        s3.put_object(Bucket="versioned-bucket", Key="doc", Body=text)
    s3.delete_object(Bucket="versioned-bucket", Key="doc")  # a delete marker on top
    s3.put_object(Bucket="versioned-bucket", Key="other", Body=b"o")
    s3.put_object_tagging(Bucket="versioned-bucket", Key="other", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})

    create_bucket(s3, "dropped-bucket", "us-east-1")
    s3.delete_bucket(Bucket="dropped-bucket")
    return {"UploadId": unfinished["UploadId"], "first": first}


def test_s3_comes_back_whole_from_its_log_and_from_its_snapshot(tmp_path):
    with running(tmp_path) as (clients, _):
        unfinished = fill_s3(clients["s3"])
        before = s3_state(clients["s3"])
    assert set(before) == {"plain-bucket", "versioned-bucket"}
    with running(tmp_path, compaction=EAGER) as (clients, backend):
        assert s3_state(clients["s3"]) == before  # replayed from the log
        assert "compacted" in restored(backend, "s3")
    with running(tmp_path, kill=False) as (clients, backend):
        assert s3_state(clients["s3"]) == before  # restored from the snapshot
        assert "log: 0 records" in restored(backend, "s3")
        assert "failed" not in restored(backend, "dynamodb") + restored(backend, "s3")
        s3 = clients["s3"]  # the upload started before two restarts can still be finished
        second = s3.upload_part(Bucket="plain-bucket", Key="unfinished", UploadId=unfinished["UploadId"],
                                PartNumber=2, Body=b"end")["ETag"]
        s3.complete_multipart_upload(Bucket="plain-bucket", Key="unfinished", UploadId=unfinished["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": unfinished["first"]},
                                                                {"PartNumber": 2, "ETag": second}]})
        finished = s3.get_object(Bucket="plain-bucket", Key="unfinished")
        assert (finished["ContentLength"], finished["Metadata"]) == ((5 << 20) + 3, {"step": "1"})
    bodies = list((tmp_path / "s3" / "objects").iterdir())
    assert bodies and all(path.name == hashlib.sha256(path.read_bytes()).hexdigest() for path in bodies)


def test_dynamodb_comes_back_whole_from_its_log_and_from_its_snapshot(tmp_path):
    item = {"pk": {"S": "p"}, "sk": {"S": "every-type"}, "n": {"N": "-12.5e3"}, "b": {"B": bytes(range(256))},
            "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x00", b"\xff"]},
            "m": {"M": {"nested": {"L": [{"S": "é"}, {"BOOL": True}, {"NULL": True}, {"B": b"\x01\x02"}]}}},
            "ext": {"S": "by-external-id"}}

    def snapshot(dynamodb: Any) -> dict[str, Any]:
        description = dynamodb.describe_table(TableName="faces")["Table"]
        return {
            "items": sorted(dynamodb.scan(TableName="faces", ConsistentRead=True)["Items"], key=lambda i: i["sk"]["S"]),
            "created": description["CreationDateTime"],
            "indexes": description["GlobalSecondaryIndexes"],
            "by_index": dynamodb.query(TableName="faces", IndexName="external", KeyConditionExpression="ext = :e",
                                       ExpressionAttributeValues={":e": {"S": "by-external-id"}})["Items"],
            "ttl": dynamodb.describe_time_to_live(TableName="faces")["TimeToLiveDescription"],
            "tags": dynamodb.list_tags_of_resource(ResourceArn=description["TableArn"])["Tags"],
            "tables": dynamodb.list_tables()["TableNames"],
        }

    with running(tmp_path) as (clients, _):
        dynamodb = clients["dynamodb"]
        create_table(dynamodb, "faces")
        dynamodb.create_table(TableName="faces-gsi", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        dynamodb.delete_table(TableName="faces-gsi")
        dynamodb.update_table(TableName="faces", AttributeDefinitions=[
            {"AttributeName": "ext", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "external", "KeySchema": [
                {"AttributeName": "ext", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}}])
        dynamodb.update_time_to_live(TableName="faces", TimeToLiveSpecification={"Enabled": True,
                                                                                 "AttributeName": "expires"})
        arn = dynamodb.describe_table(TableName="faces")["Table"]["TableArn"]
        dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "faces"}])
        dynamodb.put_item(TableName="faces", Item=item)
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "faces", "Item": {"pk": {"S": "p"}, "sk": {"S": f"face-{i}"}}}} for i in range(5)])
        dynamodb.update_item(TableName="faces", Key={"pk": {"S": "p"}, "sk": {"S": "face-1"}},
                             UpdateExpression="ADD c :one", ExpressionAttributeValues={":one": {"N": "1"}})
        dynamodb.delete_item(TableName="faces", Key={"pk": {"S": "p"}, "sk": {"S": "face-2"}})
        with pytest.raises(ClientError):  # a failed write is not logged: replaying it would fail too
            dynamodb.put_item(TableName="faces", Item={"pk": {"S": "p"}, "sk": {"S": "face-3"}},
                              ConditionExpression="attribute_not_exists(pk)")
        before = snapshot(dynamodb)
    assert len(before["items"]) == 5 and before["by_index"] and before["tables"] == ["faces"]
    with running(tmp_path, compaction=EAGER) as (clients, backend):
        assert snapshot(clients["dynamodb"]) == before
        assert "failed" not in restored(backend, "dynamodb")
    with running(tmp_path, kill=False) as (clients, backend):
        assert snapshot(clients["dynamodb"]) == before
        assert restored(backend, "dynamodb").startswith("restored dynamodb: 5 items")


def test_a_torn_last_record_is_cut_with_a_warning_and_the_start_goes_on(tmp_path):
    with running(tmp_path) as (clients, _):
        create_table(clients["dynamodb"], "faces")
        for i in range(20):
            clients["dynamodb"].put_item(TableName="faces", Item={"pk": {"S": "p"}, "sk": {"S": f"{i:02d}"}})
    log = tmp_path / "dynamodb" / "log-00000000.wal"
    torn = wal.encode({"type": "request", "environ": {}, "time": 0, "seed": 0}, b"x" * 500)[:300]
    with open(log, "ab") as file:  # the first 300 bytes of a record, as a kill -9 during its write leaves it
        file.write(torn)
    with running(tmp_path) as (clients, backend):
        assert any(note.startswith("warning: dynamodb: log-00000000.wal: torn record") for note in backend.notes)
        assert "cut a torn tail of 300 bytes" in next(note for note in backend.notes if note.startswith("restored dyn"))
        assert clients["dynamodb"].scan(TableName="faces", Select="COUNT")["Count"] == 20
        clients["dynamodb"].put_item(TableName="faces", Item={"pk": {"S": "p"}, "sk": {"S": "after"}})
    with running(tmp_path, kill=False) as (clients, backend):
        assert not any(note.startswith("warning") for note in backend.notes)
        assert clients["dynamodb"].scan(TableName="faces", Select="COUNT")["Count"] == 21


def test_a_damaged_newest_snapshot_falls_back_to_the_older_one_and_its_logs(tmp_path):
    with running(tmp_path) as (clients, _):
        create_table(clients["dynamodb"], "faces")
        clients["dynamodb"].put_item(TableName="faces", Item={"pk": {"S": "p"}, "sk": {"S": "1"}})
    with running(tmp_path, compaction=EAGER):  # compacts at start: snapshot 1, log 1
        pass
    with running(tmp_path) as (clients, _):
        clients["dynamodb"].put_item(TableName="faces", Item={"pk": {"S": "p"}, "sk": {"S": "2"}})
    directory = tmp_path / "dynamodb"
    kept = {path.name: path.read_bytes() for path in directory.glob("*-00000001.wal")}
    with running(tmp_path, kill=False, compaction=EAGER):  # compacts: snapshot 2, deletes snapshot 1 and log 1
        pass
    for name, data in kept.items():  # as if the deletes had not happened, and snapshot 2 then got damaged
        (directory / name).write_bytes(data)
    newest = directory / "snapshot-00000002.wal"
    newest.write_bytes(newest.read_bytes()[:-40])
    with running(tmp_path, kill=False) as (clients, backend):
        assert any("set aside as snapshot-00000002.damaged" in note for note in backend.notes)
        assert clients["dynamodb"].scan(TableName="faces", Select="COUNT")["Count"] == 2
    assert (directory / "snapshot-00000002.damaged").exists()


def test_compaction_while_writers_race_loses_no_acknowledged_write(tmp_path):
    """16 threads each commit transactions (an item + a shared counter) and S3 objects while the logs are
    folded into snapshots again and again; after a kill -9, the counter, the items and the objects agree."""
    writes, threads = 10, 16
    with running(tmp_path, compaction=Compaction(min_seconds=0.05)) as (clients, _):
        create_table(clients["dynamodb"], "faces")
        create_bucket(clients["s3"], "race-bucket", "us-east-1")
        clients["dynamodb"].put_item(TableName="faces", Item={"pk": {"S": "c"}, "sk": {"S": "META"}, "n": {"N": "0"}})

        def write(worker: int) -> None:
            dynamodb, s3 = clients["make"]("dynamodb"), clients["make"]("s3")
            for done in range(writes):
                dynamodb.transact_write_items(TransactItems=[
                    {"Update": {"TableName": "faces", "Key": {"pk": {"S": "c"}, "sk": {"S": "META"}},
                                "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                    {"Put": {"TableName": "faces", "Item": {"pk": {"S": "c"}, "sk": {"S": f"w{worker}-{done}"}},
                             "ConditionExpression": "attribute_not_exists(pk)"}},
                ])
                s3.put_object(Bucket="race-bucket", Key=f"w{worker}-{done}", Body=b"%d" % done)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(write, range(threads)))  # any error is raised here
    for service in ("dynamodb", "s3"):  # compacted while the writers ran
        assert max(path.name for path in (tmp_path / service).glob("snapshot-*.wal")) >= "snapshot-00000002.wal"
    with running(tmp_path, kill=False) as (clients, _):
        dynamodb = clients["dynamodb"]
        meta = dynamodb.get_item(TableName="faces", Key={"pk": {"S": "c"}, "sk": {"S": "META"}})["Item"]
        assert meta["n"]["N"] == str(writes * threads)
        assert dynamodb.scan(TableName="faces", Select="COUNT")["Count"] == 1 + writes * threads
        assert clients["s3"].list_objects_v2(Bucket="race-bucket")["KeyCount"] == writes * threads


def test_one_data_directory_serves_one_backend_and_fresh_empties_it(tmp_path):
    with running(tmp_path, kill=False) as (clients, _):
        create_bucket(clients["s3"], "kept-bucket", "us-east-1")
        with pytest.raises(RuntimeError, match="in use by another make serve"):
            local_backend.start(data_dir=tmp_path, timeout=60)
    with running(tmp_path, kill=False) as (clients, _):
        assert [b["Name"] for b in clients["s3"].list_buckets()["Buckets"]] == ["kept-bucket"]
    with running(tmp_path, kill=False, fresh=True) as (clients, _):
        assert clients["s3"].list_buckets()["Buckets"] == []
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.txt").write_text("someone's files")
    with pytest.raises(RuntimeError, match="not a facesearch data directory"):
        local_backend.start(data_dir=tmp_path / "elsewhere", timeout=60, fresh=True)
    assert (tmp_path / "elsewhere" / "notes.txt").exists()


@pytest.mark.parametrize("range_key", [True, False])
def test_a_snapshot_puts_items_back_exactly_as_put_item_would(range_key, monkeypatch):
    """The snapshot loader's faster put (local/durable_dynamodb.py `putter`) against moto's own put_item."""
    from moto import mock_aws
    from moto.dynamodb.models import dynamodb_backends

    from local.durable_dynamodb import putter

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "n": {"N": "1.50"}, "b": {"B": "AAEC"}, "ss": {"SS": ["a", "b"]},
            "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}, {"NS": ["1", "2"]}, {"BS": ["AA=="]}]}}}}
    if not range_key:
        item.pop("sk")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for name in ("fast", "slow"):
            dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}
                                                        for key in ("pk", "sk")[:1 + range_key]],
                                  KeySchema=[{"AttributeName": key, "KeyType": kind}
                                             for key, kind in (("pk", "HASH"), ("sk", "RANGE"))[:1 + range_key]])
        backend = dynamodb_backends["123456789012"]["us-east-1"]
        put = putter(backend.get_table("fast"))
        assert put.__name__ == "fast"  # this moto's Item is built the same way: the fast path is taken
        put(item)
        backend.get_table("slow").put_item(item, overwrite=True)
        key = {name: item[name] for name in ("pk", "sk")[:1 + range_key]}
        fast, slow = (dynamodb.get_item(TableName=name, Key=key)["Item"] for name in ("fast", "slow"))
        assert fast == slow and fast["b"]["B"] == b"\x00\x01\x02"
        assert dynamodb.scan(TableName="fast")["Items"] == [slow]
        for name in ("fast", "slow"):  # a restored item stays writable, as any other
            dynamodb.update_item(TableName=name, Key=key, UpdateExpression="ADD n :one",
                                 ExpressionAttributeValues={":one": {"N": "1"}})
        fast, slow = (dynamodb.get_item(TableName=name, Key=key)["Item"] for name in ("fast", "slow"))
        assert fast == slow and float(fast["n"]["N"]) == 2.5
