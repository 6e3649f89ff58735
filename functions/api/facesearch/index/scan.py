"""Scanning shards: each compact shard's candidates for the query, merged into one shortlist.

The int8 scores only choose candidates (see quantized.py); the exact cosines come from the face items the
search reads anyway, so results are those of an exact float32 scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from facesearch.index import quantized
from facesearch.index.quantized import QuantizedShard, Shortlist


class ShardSource(Protocol):
    def get(self, key: str) -> QuantizedShard: ...


def scan(shards: ShardSource, keys: Sequence[str], query: np.ndarray, k: int, min_cosine: float) -> Shortlist:
    """The faces of the objects `keys` that may be among the exact k best at or above min_cosine."""
    parts = [quantized.candidates(shards.get(key), query, k, min_cosine) for key in keys]
    return quantized.merge(parts, k, min_cosine)
