"""`python -m bench.search_api`: start (or reach) the server, run every measurement, print the tables."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import bench.search_api
from bench.common import cli
from bench.common.progress import log
from bench.common.server import (
    Endpoint,
    Rekognition,
    backend_dynamodb,
    backend_services,
    existing_endpoint,
    rekognition,
    start_server,
)
from bench.common.sets import Person, lfw_people, shared_or_skip
from bench.common.timing import timed
from bench.search_api.breakdown import breakdown, transaction_cost
from bench.search_api.gallery import build_gallery
from bench.search_api.large import run_large
from bench.search_api.probes import Probe, run_probes, search
from bench.search_api.reporting import Results, RunInfo, model_digests, render, to_json


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.parser(bench.search_api.__doc__, prog="python -m bench.search_api")
    parser.add_argument("--limit", type=int, default=0, help="only the first N people (0 = all 801)")
    parser.add_argument("--pad", type=int, default=100_000, help="faces in the padded collection (0 = skip)")
    parser.add_argument("--pad-people", type=int, default=100,
                        help="real gallery faces indexed into the padded collection (before the padding)")
    parser.add_argument("--index-at-pad", type=int, default=3,
                        help="IndexFaces calls timed after the padding (each costs ~minutes under moto)")
    parser.add_argument("--latency-probes", type=int, default=200,
                        help="probe photos searched against both collections, interleaved")
    parser.add_argument("--endpoint", help="a running `make serve` (else the bench starts one)")
    parser.add_argument("--access-key-id", default=os.environ.get("FACESEARCH_ACCESS_KEY_ID"))
    parser.add_argument("--secret-access-key", default=os.environ.get("FACESEARCH_SECRET_ACCESS_KEY"))
    parser.add_argument("--backend", help="its S3/DynamoDB endpoint (moto), needed for the padding")
    parser.add_argument("--keep", action="store_true", help="leave the collections (with --endpoint)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, endpoint: Endpoint, client: Rekognition, people: list[Person],
        created: list[str]) -> Results:
    """Every measurement, in order; `created` collects the collections made (for the clean-up)."""
    run_id = time.strftime("%Y%m%d%H%M%S")
    small_id, large_id = f"bench-lfw-{run_id}", f"bench-100k-{run_id}"
    probes = [Probe(p.name, photo) for p in people for photo in p.photos[1:]]
    client.create_collection(CollectionId=small_id)
    created.append(small_id)
    gallery = build_gallery(client, small_id, people, "gallery")
    small_faces = client.describe_collection(CollectionId=small_id)["FaceCount"]
    first_search = search(client, small_id, probes[0], probes[0].path.read_bytes()).seconds
    stats = run_probes(client, small_id, probes, "probes")

    padded_people = {p.name for p in people[: args.pad_people]}
    latency_probes = [p for p in probes if p.person in padded_people][: args.latency_probes]
    latency_probes = latency_probes or probes[: args.latency_probes]
    services = backend_services(endpoint) if endpoint.backend else None
    dynamodb = backend_dynamodb(endpoint) if endpoint.backend else None
    transactions = [("after the LFW gallery", 3, *transaction_cost(dynamodb, endpoint.table))] if dynamodb else []
    if args.pad and not endpoint.backend:
        log("no --backend: skipping the padded collection")
    large = None
    if args.pad and services is not None and dynamodb is not None:
        client.create_collection(CollectionId=large_id)
        created.append(large_id)
        late = people[args.pad_people : args.pad_people + args.index_at_pad]
        large = run_large(client, services, (small_id, large_id), (people[: args.pad_people], late), args.pad,
                          latency_probes, lambda: transaction_cost(dynamodb, endpoint.table, repeats=1))
        transactions.append((f"after padding to {large.padded_faces:,}", 1, *large.transaction))
    log("breakdown")
    parts = breakdown(services, client, large_id if large else small_id,
                      [p.path.read_bytes() for p in latency_probes], scan=large is not None)
    return Results(endpoint.url, gallery, small_faces, first_search, stats, large, parts, transactions)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = " ".join(shlex.quote(part) for part in [Path(sys.executable).name, "-m", "bench.search_api",
                                                      *(sys.argv[1:] if argv is None else argv)])
    if (shared := shared_or_skip("faces/lfw/people.txt", "the search bench")) is None:
        return 0
    people = lfw_people(shared / "faces" / "lfw")[: args.limit or None]
    wall_start, load_start, models = time.monotonic(), os.getloadavg(), model_digests()
    if args.endpoint:
        endpoint = existing_endpoint(args.endpoint, args.access_key_id, args.secret_access_key, args.backend)
    else:
        log("starting local.serve")
        endpoint, seconds = timed(start_server, 120.0)
        log(f"local.serve answered after {seconds:.1f} s at {endpoint.url} (backend {endpoint.backend})")
    client = rekognition(endpoint)
    created: list[str] = []
    try:
        results = run(args, endpoint, client, people, created)
    finally:
        if args.endpoint and not args.keep:
            for collection_id in created:
                try:
                    client.delete_collection(CollectionId=collection_id)
                except Exception as error:
                    log(f"could not delete {collection_id}: {error}")
        endpoint.stop()
    info = RunInfo(command, models, model_digests(), time.monotonic() - wall_start, load_start, os.getloadavg())
    print(render(results, info), flush=True)
    if args.json:
        args.json.write_text(json.dumps(to_json(results, info), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
