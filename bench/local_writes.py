"""What one IndexFaces costs under `make serve` at 1k and 10k faces, and what moto's table copies added.

    .venv/bin/python -m bench.local_writes                       # 1k and 10k faces, 8 calls each
    .venv/bin/python -m bench.local_writes --sizes 1000 --calls 4
    .venv/bin/python -m bench.local_writes --sizes 100 --calls 2     # a quick look (about a minute)

Two embedded backends side by side, each with its own `python -m local.serve` in front:
- "items": the backend `make serve` runs (local/backend.py): one DynamoDB request at a time, and a
  transaction's rollback copies only the items it names (local/moto_transactions.py);
- "table": the same, but with moto's own rollback, which deep-copies the whole table once per action
  of every transaction (the baseline: what `make serve` did before).
Each gets a collection padded to N synthetic faces through the index seam's bulk load
(bench/search_api/padding.py), then IndexFaces
of one committed fixture photo (one face) is timed alternately on the two (A B B A ...), with
DetectFaces of the same photo (the same pipeline with no storage) as the floor. Also: a one-action
TransactWriteItems straight against each backend, and each backend's resident memory afterwards
(moto keeps every table copy it makes). Client wall times, medians; a benchmark, it asserts nothing.

Needs no ../shared. The 1k collection stays in the table while 10k is measured (the table's item
count is printed with each row).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import cli, tables
from bench.common.progress import log
from bench.common.server import Endpoint, Rekognition, backend_dynamodb, backend_services, rekognition, start_server
from bench.common.sets import REPO
from bench.common.timing import timed, turns
from bench.search_api.breakdown import transaction_cost
from bench.search_api.padding import pad_collection
from local import backend as local_backend

PHOTO = REPO / "tests" / "fixtures" / "faces" / "london_021_neutral.jpg"
MODES = ("items", "table")


@dataclass
class Stack:
    mode: str
    backend: local_backend.Backend
    endpoint: Endpoint  # the local.serve in front of it

    def stop(self) -> None:
        self.endpoint.stop()
        self.backend.stop()


def start_stack(mode: str) -> Stack:
    backend = local_backend.start(rollback=mode)
    try:
        return Stack(mode, backend, start_server(startup_timeout=120, backend=backend.endpoint))
    except BaseException:
        backend.stop()
        raise


def resident_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


Row = tuple[int, str, int, float, float, float, float, float | None]  # size, mode, items, p50, max, floor, txn, RSS


def measure_size(stacks: dict[str, Stack], clients: dict[str, Rekognition], size: int, calls: int, image: bytes
                 ) -> list[Row]:
    """Pad a collection of `size` faces on each backend, then IndexFaces and DetectFaces alternating backends."""
    collection = f"bench-{size}"
    for mode, stack in stacks.items():
        clients[mode].create_collection(CollectionId=collection)
        started = time.perf_counter()
        pad_collection(backend_services(stack.endpoint), collection, size)
        log(f"{mode}: {collection} padded to {size} faces in {time.perf_counter() - started:.0f} s")
    index: dict[str, list[float]] = {mode: [] for mode in MODES}
    detect: dict[str, list[float]] = {mode: [] for mode in MODES}
    for call, order in enumerate(turns(MODES, calls)):  # A B, B A, ...: both see the same load
        for mode in order:
            index[mode].append(timed(clients[mode].index_faces, CollectionId=collection, Image={"Bytes": image},
                                     ExternalImageId=f"bench-{size}-{call}")[1])
            detect[mode].append(timed(clients[mode].detect_faces, Image={"Bytes": image})[1])
        log(f"{size} faces: call {call + 1}/{calls}: "
            + ", ".join(f"{mode} IndexFaces {index[mode][-1] * 1000:.0f} ms" for mode in MODES))
    rows: list[Row] = []
    for mode, stack in stacks.items():
        items, transaction = transaction_cost(backend_dynamodb(stack.endpoint), stack.endpoint.table, repeats=5)
        rows.append((size, mode, items, statistics.median(index[mode]), max(index[mode]),
                     statistics.median(detect[mode]), transaction, resident_mb(stack.backend.process.pid)))
    return rows


def report(rows: list[Row], sizes: list[int], calls: int) -> None:
    print(f"\nIndexFaces of one face through `make serve`, {calls} calls per row, alternating backends; "
          f"load average {os.getloadavg()[0]:.1f}")
    header = ["faces", "rollback", "table items", "IndexFaces p50", "max", "DetectFaces p50", "1-action txn",
              "backend RSS"]
    print(tables.aligned(header, [
        [size, mode, items, *(f"{1000 * seconds:.0f} ms" for seconds in (p50, worst, floor)),
         f"{transaction * 1000:.1f} ms", f"{rss:.0f} MB" if rss is not None else "n/a"]
        for size, mode, items, p50, worst, floor, transaction, rss in rows], indent="", left=0))
    by_key = {(size, mode): p50 for size, mode, _, p50, *_ in rows}
    for size in sizes:
        print(f"{size} faces: IndexFaces with moto's table copies / with item copies = "
              f"{by_key[(size, 'table')] / by_key[(size, 'items')]:.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="faces in the collection")
    parser.add_argument("--calls", type=int, default=8, help="IndexFaces (and DetectFaces) per size and backend")
    args = parser.parse_args(argv)
    image = PHOTO.read_bytes()
    stacks = {mode: start_stack(mode) for mode in MODES}
    rows: list[Row] = []
    try:
        clients = {mode: rekognition(stack.endpoint) for mode, stack in stacks.items()}
        for size in args.sizes:
            rows += measure_size(stacks, clients, size, args.calls, image)
    finally:
        for stack in stacks.values():
            stack.stop()
    report(rows, args.sizes, args.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
