"""The embedding index: shards of vectors in S3, scanned exactly, fanned out when big (see embedding_index)."""

from __future__ import annotations

from facesearch.index.embedding_index import EmbeddingIndex, Match

__all__ = ["EmbeddingIndex", "Match"]
