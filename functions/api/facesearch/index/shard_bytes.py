"""The compact shard's S3 object: a 64-byte header, then raw UUID ids, float32 scales and excess-128 codes,
each 64-byte aligned and little-endian, so that decoding is a zero-copy view of the bytes.

Bytes <-> the three arrays only; quantized.py (the maths) builds its QuantizedShard from them."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence

import numpy as np

DIM = 128
ID_BYTES = 16  # a FaceId is a canonical lowercase UUID: 16 bytes, not 36 characters

MAGIC = b"FSQ8"
VERSION = 1
_HEADER = struct.Struct("<4sHHQ")  # magic, version, dim, rows
_HEADER_BYTES = 64  # the header padded so that every array after it is 64-byte aligned
_ALIGN = 64


def encode_face_ids(face_ids: Sequence[str]) -> np.ndarray:
    """(n, 16) uint8 of canonical UUID strings; anything else raises ValueError (it would not round trip)."""
    raw = bytearray()
    for face_id in face_ids:
        parsed = uuid.UUID(face_id)
        if str(parsed) != face_id:
            raise ValueError(f"not a canonical lowercase UUID: {face_id!r}")
        raw += parsed.bytes
    return np.frombuffer(bytes(raw), dtype=np.uint8).reshape(len(face_ids), ID_BYTES)


def decode_face_ids(ids: np.ndarray) -> list[str]:
    return [str(uuid.UUID(bytes=bytes(row))) for row in np.asarray(ids, dtype=np.uint8).reshape(-1, ID_BYTES)]


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _layout(rows: int) -> tuple[int, int, int, int]:
    """Offsets of ids, scales and codes, and the total size, for `rows` faces."""
    ids_at = _HEADER_BYTES
    scales_at = _aligned(ids_at + rows * ID_BYTES)
    codes_at = _aligned(scales_at + rows * 4)
    return ids_at, scales_at, codes_at, codes_at + rows * DIM


def pack(ids: np.ndarray, codes: np.ndarray, scales: np.ndarray) -> bytes:
    """The S3 object: a 64-byte header, then ids, scales and excess-128 codes, each 64-byte aligned,
    little-endian."""
    rows = int(codes.shape[0])
    ids_at, scales_at, codes_at, total = _layout(rows)
    out = bytearray(total)
    _HEADER.pack_into(out, 0, MAGIC, VERSION, DIM, rows)
    out[ids_at : ids_at + rows * ID_BYTES] = np.ascontiguousarray(ids, dtype=np.uint8).tobytes()
    out[scales_at : scales_at + rows * 4] = np.ascontiguousarray(scales, dtype="<f4").tobytes()
    out[codes_at:total] = np.ascontiguousarray(codes, dtype=np.uint8).tobytes()
    return bytes(out)


def unpack(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, codes, scales) in `raw`, as read-only views of it (no copy); a malformed object raises ValueError."""
    if len(raw) < _HEADER_BYTES:
        raise ValueError("not a quantized shard: too short")
    magic, version, dim, rows = _HEADER.unpack_from(raw, 0)
    if magic != MAGIC or version != VERSION or dim != DIM:
        raise ValueError(f"not a version-{VERSION} quantized shard of {DIM} dimensions")
    ids_at, scales_at, codes_at, total = _layout(rows)
    if len(raw) != total:
        raise ValueError(f"quantized shard of {rows} rows must be {total} bytes, not {len(raw)}")
    ids = np.frombuffer(raw, dtype=np.uint8, count=rows * ID_BYTES, offset=ids_at).reshape(rows, ID_BYTES)
    scales = np.frombuffer(raw, dtype="<f4", count=rows, offset=scales_at)
    codes = np.frombuffer(raw, dtype=np.uint8, count=rows * DIM, offset=codes_at).reshape(rows, DIM)
    return ids, codes, scales
