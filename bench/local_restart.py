"""What a restart of `make serve`'s durable backend costs at 10k and 100k faces, and what --fsync costs.

    .venv/bin/python -m bench.local_restart                          # 10k and 100k faces; fsync 10 s a backend
    .venv/bin/python -m bench.local_restart --sizes 10000 --seconds 5
    .venv/bin/python -m bench.local_restart --sizes 2000 --writers 1 --seconds 2      # a quick look

Restart. For each size, a `python -m local.backend --data-dir <tmp>` (the backend make serve runs) gets the
service's table and bucket, a collection, and N synthetic faces through the index's bulk load, the way
bench/search_api pads collections (shards in S3, face items by BatchWriteItem). Compaction is off while
they load, so the log holds the whole history. Then the backend is killed with SIGKILL and started again
on the same directory three times, each timed from process start to "listening":
  1. history: the whole log replayed (compaction still off)
  2. history + compaction: the log replayed again, then written as a snapshot (compaction forced)
  3. snapshot: the snapshot alone, with the default rule; this is what a restart of make serve costs at N
     faces (plus make serve's own start: the handler and models, ~2-3 s, the same at any size)
With the default rule (local/durable.py `Compaction`), a running backend folds its log into a snapshot once
replaying it would take longer than 5 s and than loading the snapshot, so a restart costs at most about
twice row 3 (plus 5 s), however long the history. The backend's memory and the directory's size follow.

fsync. Writer threads (each with its own clients) each commit what IndexFaces commits for a one-face photo:
one S3 PUT of a 1 KB segment, then one TransactWriteItems (the face item + a count update), for --seconds,
against three backends: in memory (no data directory, as before), durable (the default), durable with
--fsync (each log append waits for fdatasync), each run twice (A B C C B A). Writes/s and their ratios.
Then one 1 KB log append on this disk with and without fdatasync, in microseconds.

Needs no ../shared. A benchmark: it asserts nothing but that every face came back.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.common import cli, tables
from bench.common.progress import log
from bench.common.timing import load_average, pct
from bench.search_api.padding import pad_collection
from facesearch.services import Services, build_services
from facesearch.settings import Settings
from facesearch.vision import FACE_MODEL_VERSION
from local import backend as local_backend
from local import wal
from local.durable import Compaction
from local.provision import create_bucket, create_table

TABLE, BUCKET, COLLECTION = "facesearch", "facesearch-local", "bench-restart"
NEVER = Compaction(min_seconds=1e12, min_bytes=1 << 62)
FORCE = Compaction(min_seconds=0, ratio=0)


def clients(endpoint: str) -> tuple[Any, Any]:
    kwargs: dict[str, Any] = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "moto",
                              "aws_secret_access_key": "moto",
                              "config": Config(retries={"total_max_attempts": 1}, read_timeout=600)}
    return boto3.client("dynamodb", **kwargs), boto3.client("s3", **kwargs)


def services_for(endpoint: str) -> Services:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "moto")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "moto")
    return build_services(Settings(table_name=TABLE, bucket_name=BUCKET, region="us-east-1", s3_endpoint=endpoint,
                                   dynamodb_endpoint=endpoint))


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def directory_mb(path: Path) -> float:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file()) / 2**20


NOTE = re.compile(r"restored (\w+): ([\d,]+) \w+ in ([\d.]+) s \((?:snapshot-\d+\.wal: ([\d,]+) records|no snapshot); "
                  r"log: ([\d,]+) records, ([\d,]+) bytes(?:.*compacted in ([\d.]+) s)?")


@dataclass
class Restart:
    label: str
    seconds: float  # process start to "listening"
    notes: tuple[str, ...]

    def service(self, name: str) -> dict[str, str]:
        """What the backend reported for one service: units, seconds, snapshot/log records, compaction s."""
        for note in self.notes:
            found = NOTE.match(note)
            if found and found.group(1) == name:
                units, seconds, snapshot, records, size, compaction = found.groups()[1:]
                return {"units": units, "s": seconds, "snapshot": snapshot or "0", "log": records,
                        "log MB": f"{int(size.replace(',', '')) / 2**20:.0f}", "compaction": compaction or "-"}
        return {}


def restart(data_dir: Path, label: str, compaction: Compaction) -> tuple[Restart, local_backend.Backend]:
    started = time.perf_counter()
    backend = local_backend.start(data_dir=data_dir, timeout=None, compaction=compaction)
    result = Restart(label, time.perf_counter() - started, backend.notes)
    log(f"{label}: {result.seconds:.1f} s; " + " | ".join(backend.notes))
    return result, backend


def kill(backend: local_backend.Backend) -> None:
    backend.process.kill()
    backend.process.wait()


def restart_rows(n: int, root: Path) -> list[list[object]]:
    data_dir = root / f"restart-{n}"
    backend = local_backend.start(data_dir=data_dir, timeout=None, compaction=NEVER)
    dynamodb, s3 = clients(backend.endpoint)
    create_table(dynamodb, TABLE)
    create_bucket(s3, BUCKET, "us-east-1")
    services = services_for(backend.endpoint)
    services.storage.collections.create(COLLECTION, f"aws:rekognition:us-east-1:000000000000:collection/{COLLECTION}",
                                        FACE_MODEL_VERSION, {})
    padding = pad_collection(services, COLLECTION, n)
    log(f"{n:,} faces loaded in {padding.seconds:.1f} s ({padding.batch_calls:,} BatchWriteItem calls)")
    kill(backend)
    history_mb = directory_mb(data_dir)

    runs = []
    for label, rule in (("history", NEVER), ("history + compaction", FORCE), ("snapshot", Compaction())):
        run, backend = restart(data_dir, label, rule)
        runs.append(run)
        if label != "snapshot":
            kill(backend)
    faces = services_for(backend.endpoint).storage.collections.get(COLLECTION).face_count
    if faces != n:
        raise SystemExit(f"{faces:,} faces came back of {n:,}")
    memory = resident_mb(backend.process.pid)
    kill(backend)
    snapshot_mb = directory_mb(data_dir)
    log(f"{n:,}: data directory {history_mb:.0f} MB as a log, {snapshot_mb:.0f} MB as a snapshot; "
        f"backend {memory:.0f} MB resident")
    rows: list[list[object]] = []
    for run in runs:
        table_, bucket = run.service("dynamodb"), run.service("s3")
        rows.append([f"{n:,}", run.label, f"{run.seconds:.1f}", table_.get("units"), table_.get("snapshot"),
                     table_.get("log"), table_.get("log MB"), table_.get("s"), table_.get("compaction"),
                     bucket.get("s"), f"{history_mb:.0f} / {snapshot_mb:.0f}", f"{memory:.0f}"])
    return rows


# --- fsync ---------------------------------------------------------------------------------------------------


def writes_per_second(endpoint: str, writers: int, seconds: float) -> float:
    """What IndexFaces commits for one face (an S3 PUT, a TransactWriteItems), by `writers` threads, per second."""
    dynamodb, s3 = clients(endpoint)
    create_table(dynamodb, TABLE)
    create_bucket(s3, BUCKET, "us-east-1")
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "bench"}, "sk": {"S": "META"}, "FaceCount": {"N": "0"}})
    done = [0] * writers
    stop = time.monotonic() + seconds

    def write(worker: int) -> None:
        table_client, bucket_client = clients(endpoint)
        while time.monotonic() < stop:
            key = f"w{worker}-{done[worker]}"
            bucket_client.put_object(Bucket=BUCKET, Key=f"segments/{key}", Body=os.urandom(1024))
            table_client.transact_write_items(TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "bench"}, "sk": {"S": key},
                                                      "Embedding": {"B": os.urandom(512)}},
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "bench"}, "sk": {"S": "META"}},
                            "UpdateExpression": "ADD FaceCount :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            ])
            done[worker] += 1

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def fsync_rows(root: Path, writers: list[int], seconds: float) -> list[list[object]]:
    """Each backend twice, in the order A B C C B A (half the time each), so a drift in the machine's load
    weighs on all three alike."""
    modes = {"in memory": (False, False), "durable": (True, False), "durable --fsync": (True, True)}
    rows: list[list[object]] = []
    for count in writers:
        rates: dict[str, list[float]] = {label: [] for label in modes}
        for turn, label in enumerate([*modes, *reversed(modes)]):
            durable, fsync = modes[label]
            data_dir = root / f"fsync-{count}-{turn}" if durable else None
            backend = local_backend.start(timeout=None, data_dir=data_dir, fsync=fsync)
            try:
                rates[label].append(writes_per_second(backend.endpoint, count, seconds / 2))
            finally:
                kill(backend)
            log(f"{count} writers, {label}: {rates[label][-1]:.1f} writes/s")
        base = sum(rates["in memory"]) / 2
        rows += [[f"{count}", label, f"{sum(rate) / 2:.1f}", f"{sum(rate) / 2 / base:.2f}"]
                 for label, rate in rates.items()]
    return rows


def append_microseconds(root: Path, fsync: bool, records: int = 2000) -> tuple[float, float]:
    """One 1 KB record appended to a log on `root`'s disk: (median, p99) in microseconds."""
    path = root / f"append-{fsync}.wal"
    writer = wal.LogWriter.create(path, {"kind": "log", "service": "bench", "seq": 0}, fsync=fsync)
    body, times = os.urandom(1024), []
    for _ in range(records):
        started = time.perf_counter()
        writer.append({"type": "request"}, body)
        times.append(time.perf_counter() - started)
    writer.close()
    return 1e6 * pct(times, 50), 1e6 * pct(times, 99)


def main() -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8], help="writer threads for the fsync runs")
    parser.add_argument("--seconds", type=float, default=10.0, help="each fsync run's length")
    parser.add_argument("--dir", type=Path, default=None, help="where the data directories go (default: a temp dir)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="facesearch-bench-restart-", dir=args.dir))
    load = load_average()
    try:
        rows = [row for n in args.sizes for row in restart_rows(n, root)]
        print(tables.boxed(f"Restart of the durable backend ({os.cpu_count()} cores, load {load} at the start): "
                           "process start to listening; DynamoDB's part (items, records replayed from the snapshot "
                           "and the log, its seconds and the compaction's), S3's seconds, the data directory as a "
                           "log / as a snapshot, the backend's memory",
                           ["faces", "restart", "s", "items", "snap. rec.", "log rec.", "log MB", "DynamoDB s",
                            "compact s", "S3 s", "dir MB", "RSS MB"], rows))
        fsync = fsync_rows(root, args.writers, args.seconds)
        print(tables.boxed(f"One-face IndexFaces commits (S3 PUT + TransactWriteItems) per second, "
                           f"{args.seconds:.0f} s each", ["writers", "backend", "writes/s", "x in memory"], fsync))
        appends = [[label, *(f"{us:.0f}" for us in append_microseconds(root, fsync))] for label, fsync in
                   (("write()", False), ("write() + fdatasync", True))]
        print(tables.boxed(f"One 1 KB log append on this disk ({root}), 2,000 appends",
                           ["append", "p50 us", "p99 us"], appends))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
