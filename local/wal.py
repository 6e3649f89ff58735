"""The file format of the embedded backend's write-ahead logs and snapshots (local/durable.py writes them).

A file is the line `facesearch-wal` and then framed records, one after another:

    length  u64 little-endian   bytes of the payload
    crc     u32 little-endian   CRC-32 of the payload
    payload                     u32 little-endian n, n bytes of JSON (the record's meta), then the body

The first record is the header: its meta names the format version, the kind of file (log or snapshot),
the service, the file's sequence number and the moto version that wrote it. Each later record is one
request that was answered 2xx (its WSGI environ, raw body, time and random seed) or, in a snapshot, a
piece of state. A record is appended with one write() while the backend holds the service's lock and
before the answer leaves, so a kill -9 can only tear the last one: `LogReader` stops at the first
record that is short or fails its CRC and says where, and the caller cuts the file there.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"facesearch-wal\n"
FORMAT = 1  # bump when a reader of this version could misread a newer file
FRAME = struct.Struct("<QI")
META_LENGTH = struct.Struct("<I")

Meta = dict[str, Any]


class NewerFormat(Exception):
    """The file was written by a newer facesearch; replaying it with this one could misread it."""


def encode(meta: Meta, body: bytes = b"") -> bytes:
    """One framed record."""
    head = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    prefix = META_LENGTH.pack(len(head)) + head
    crc = zlib.crc32(body, zlib.crc32(prefix))
    return FRAME.pack(len(prefix) + len(body), crc) + prefix + body


def decode(payload: bytes | memoryview) -> tuple[Meta, bytes]:
    """A record's payload -> (meta, body); ValueError if it does not parse."""
    view = memoryview(payload)
    if len(view) < META_LENGTH.size:
        raise ValueError("payload shorter than its meta length")
    (length,) = META_LENGTH.unpack_from(view)
    end = META_LENGTH.size + length
    if end > len(view):
        raise ValueError("meta longer than the payload")
    meta = json.loads(bytes(view[META_LENGTH.size:end]).decode("utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("meta is not an object")
    return meta, bytes(view[end:])


@dataclass(frozen=True)
class Entry:
    offset: int  # where the record starts in the file
    meta: Meta
    body: bytes


class LogReader:
    """The records of one file, read one at a time (a log never has to fit in memory).

    Iterating stops at the end of the file or at the first record that is torn (shorter than its frame
    says) or damaged (CRC or meta wrong). Afterwards `end` is the offset up to which every record is
    whole, and `problem` says what was found after it ("" when the file simply ended).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.end = 0
        self.problem = ""
        self.header: Meta = {}

    def __iter__(self) -> Iterator[Entry]:
        with open(self.path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if file.read(len(MAGIC)) != MAGIC:
                self.problem = "no facesearch-wal header"
                return
            offset = len(MAGIC)
            self.end = offset
            while True:
                frame = file.read(FRAME.size)
                if not frame:
                    return
                if len(frame) < FRAME.size:
                    self.problem = f"torn record frame ({len(frame)} of {FRAME.size} bytes)"
                    return
                length, crc = FRAME.unpack(frame)
                if length > size - offset - FRAME.size:
                    self.problem = f"torn record ({size - offset - FRAME.size} of {length} bytes)"
                    return
                payload = file.read(length)
                if len(payload) < length or zlib.crc32(payload) != crc:
                    self.problem = "record fails its CRC"
                    return
                try:
                    meta, body = decode(payload)
                except ValueError as error:
                    self.problem = f"record does not parse ({error})"
                    return
                if offset == len(MAGIC):
                    self._check_header(meta)
                else:
                    yield Entry(offset, meta, body)
                offset += FRAME.size + length
                self.end = offset

    def _check_header(self, meta: Meta) -> None:
        version = meta.get("format")
        if not isinstance(version, int) or version > FORMAT:
            raise NewerFormat(f"{self.path} has format {version!r}; this facesearch reads format {FORMAT} and older")
        self.header = meta


def cut(path: Path, end: int) -> int:
    """Truncate a file to `end` bytes (a torn or damaged tail), durably; returns how many bytes went."""
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.truncate(end)
        file.flush()
        os.fsync(file.fileno())
    return size - end


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a created, renamed or deleted file) durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some platforms cannot fsync a directory; their rename is as durable as it gets
    finally:
        os.close(fd)


_sync_data = getattr(os, "fdatasync", os.fsync)


class LogWriter:
    """Appends records to one file. With `fsync`, each append waits until the data is on the disk."""

    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self.fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.size = os.fstat(self._fd).st_size

    @classmethod
    def create(cls, path: Path, header: Meta, fsync: bool) -> LogWriter:
        """A new file holding only the magic and the header, on disk before it is used."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, MAGIC + encode({"format": FORMAT, **header}))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(path.parent)
        return cls(path, fsync)

    def append(self, meta: Meta, body: bytes = b"") -> int:
        """Write one record (one write() call, so a crash tears at most this record); returns its size."""
        record = encode(meta, body)
        _write_all(self._fd, record)
        if self.fsync:
            _sync_data(self._fd)
        self.size += len(record)
        return len(record)

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
