"""`python -m bench.scale`: build the collection, then print sections 1-7 (see bench/scale/__init__.py)."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields

import numpy as np

import bench.scale
from bench.common import cli
from bench.scale import data, lfw
from bench.scale.collection import MILLION, build
from bench.scale.fanout import CloudParams, section_fanout
from bench.scale.recall import section_recall
from bench.scale.scan import section_kernels, section_likeness, section_scan, section_sizes
from facesearch.index import quantized as q
from facesearch.index import shards


def parse_args() -> argparse.Namespace:
    parser = cli.parser(bench.scale.__doc__, prog="python -m bench.scale")
    parser.add_argument("--faces", type=int, default=MILLION, help="collection size, up to 20M")
    parser.add_argument("--shard-rows", type=int, default=shards.MAX_SHARD_ROWS)
    parser.add_argument("--slice-rows", type=int, default=MILLION, help="faces per fan-out invocation")
    parser.add_argument("--queries", type=int, default=30, help="LFW queries for recall and fan-out")
    parser.add_argument("--rounds", type=int, default=15, help="alternating timing rounds")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the fan-out")
    parser.add_argument("--no-kernels", action="store_true", help="skip section 4")
    parser.add_argument("--seed", type=int, default=12)
    for f in fields(CloudParams):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    return parser.parse_args()


def face_model(queries: int, rng: np.random.Generator) -> tuple[data.FaceModel, data.Probes, lfw.LfwEmbeddings | None]:
    """Synthetic faces like the shipped pipeline's LFW embeddings (isotropic without ../shared), real queries."""
    shared = lfw.shared_dir()
    if shared is None:
        print("NOTE: ../shared not found: isotropic synthetic faces and queries (recall is then optimistic)")
        model = data.isotropic()
        drawn = data.draw(model, rng, queries)
        return model, data.Probes(drawn, np.empty((0, q.DIM), np.float32), np.zeros((queries, 0), bool)), None
    real = lfw.lfw_embeddings(shared)
    probes = data.lfw_probes(real.identities, real.embeddings, queries, rng)
    print(f"LFW: {len(real.embeddings)} embeddings by the shipped pipeline ({real.missed} photos without a face); "
          f"{len(probes.queries)} queries, {len(probes.gallery)} real faces in the collection")
    return data.fitted(real.embeddings), probes, real


def main() -> int:
    args = parse_args()
    params = CloudParams(**{f.name: getattr(args, f.name) for f in fields(CloudParams)})
    rng = np.random.default_rng(args.seed)
    model, probes, real = face_model(args.queries, rng)
    print(f"collection: {args.faces:,} faces in shards of {args.shard_rows:,}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    collection = build(args.faces, args.shard_rows, model, probes, args.seed)
    section_sizes(collection)
    section_likeness(real.identities if real else None, real.embeddings if real else None, model, rng)
    section_scan(collection, probes.queries, args.rounds)
    if not args.no_kernels:
        section_kernels(collection, probes.queries, args.rounds)
    section_recall(collection, probes.queries, args.shard_rows)
    section_fanout(collection, probes.queries, args.slice_rows, args.shard_rows, args.workers, params, rng)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
