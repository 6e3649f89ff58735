"""A video file's header -> Rekognition's VideoMetadata, from a few KB of an MP4/MOV (or AVI), in pure Python.

Why: OpenCV gives codec, fps, size and a frame count, but not the container's name, the colour range or an
exact duration, and opening it costs the whole FFmpeg probe. This reader seeks over box headers (skipping
mdat without reading it, so a moov atom at the end costs one more ranged GET) and reads only the boxes it
needs: ftyp, moov/mvhd, then per track tkhd, mdhd, hdlr, stsd (the first sample entry and its avcC/colr),
stts (frame count and rate). It is cheap enough for Start* to refuse an over-6-hour video synchronously; the
file comes in as a seekable binary file object (the caller's I/O: storage/input_objects.py reads S3 ranges).

Values follow what FFmpeg (and so Rekognition's examples) print: Format "QuickTime / MOV" for the whole
mov/mp4 family, Codec "h264" for avc1/avc3, ColorRange LIMITED unless a colr 'nclx' box or the SPS's VUI
says full range. Not handled: fragmented MP4 (moov without samples; duration from mvex/mehd if present),
edit lists (a shifted start is ignored), AVI beyond its main header (avih/strh/strf).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from facesearch.vision.h264 import avcc_full_range

MOV_FORMAT = "QuickTime / MOV"  # FFmpeg's mov demuxer long_name, what Rekognition reports for .mp4/.mov
AVI_FORMAT = "AVI (Audio Video Interleaved)"
CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc", b"mp4v": "mpeg4",
          b"av01": "av1", b"vp09": "vp9", b"vp08": "vp8", b"mjpa": "mjpeg", b"jpeg": "mjpeg", b"s263": "h263"}
AVI_H264 = {b"H264", b"h264", b"X264", b"x264", b"AVC1", b"avc1", b"DAVC", b"VSSH"}
MAX_BOX_READ = 16 * 1024 * 1024  # never pull a box bigger than this into memory (stts of a 6 h video: < 1 MB)


class Stream(Protocol):
    """A seekable binary file (a real file, or storage's S3 range reader)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


class ProbeError(ValueError):
    """Not a video this probe understands (the caller maps it to InvalidParameter or a FAILED job)."""


@dataclass(frozen=True)
class VideoInfo:
    format: str
    codec: str  # FFmpeg's codec name, or the sample entry's fourcc when unknown
    duration_ms: int
    frame_rate: float
    width: int
    height: int
    color_range: str  # "FULL" | "LIMITED"
    rotation: int  # clockwise degrees to turn the coded picture for display (0, 90, 180, 270)
    frame_count: int
    keyframe_count: int | None  # stss entries; None = no stss, every frame is a keyframe
    moov_at_end: bool  # no faststart: the demuxer must seek to the end first

    def rekognition(self) -> dict[str, object]:
        """The VideoMetadata shape (FrameRate as a float32, like AWS's 29.970029830932617)."""
        return {"Codec": self.codec, "DurationMillis": self.duration_ms, "Format": self.format,
                "FrameRate": struct.unpack("f", struct.pack("f", self.frame_rate))[0],
                "FrameHeight": self.height, "FrameWidth": self.width, "ColorRange": self.color_range}


def _boxes(f: Stream, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload offset, payload size) of each box in [start, end), reading only the headers."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        header = f.read(16 if end - pos >= 16 else 8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header[:8])
        head = 8
        if size == 1:
            if len(header) < 16:
                return
            size, head = struct.unpack(">Q", header[8:16])[0], 16
        elif size == 0:  # to the end of the enclosing box / file
            size = end - pos
        if size < head:
            raise ProbeError(f"bad box size {size} for {kind!r} at {pos}")
        yield kind, pos + head, size - head
        pos += size


def _child(f: Stream, start: int, size: int, kind: bytes) -> tuple[int, int] | None:
    return next(((o, s) for k, o, s in _boxes(f, start, start + size) if k == kind), None)


def _need(f: Stream, parent: tuple[int, int] | None, kind: bytes) -> tuple[int, int]:
    """The payload (offset, size) of a child box that must exist, or ProbeError."""
    found = _child(f, *parent, kind) if parent is not None else None
    if found is None:
        raise ProbeError(f"missing {kind.decode()} box")
    return found


def _read(f: Stream, offset: int, size: int) -> bytes:
    if size > MAX_BOX_READ:
        raise ProbeError(f"box of {size} bytes is too large to read")
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise ProbeError("truncated file")
    return data


def probe(f: Stream, file_size: int) -> VideoInfo:
    """VideoInfo of the first video track, or ProbeError."""
    f.seek(0)
    magic = f.read(12)
    if magic[:4] == b"RIFF" and magic[8:12] == b"AVI ":
        return _probe_avi(f, file_size)
    top: dict[bytes, tuple[int, int]] = {}
    order = []
    for kind, offset, size in _boxes(f, 0, file_size):
        top.setdefault(kind, (offset, size))
        order.append(kind)
        if kind == b"moov":
            break
    if b"moov" not in top or (b"ftyp" not in top and order[0] not in (b"moov", b"wide", b"free", b"mdat")):
        raise ProbeError("not an MP4/MOV file (no moov box)")
    moov_offset, moov_size = top[b"moov"]
    mvhd = _child(f, moov_offset, moov_size, b"mvhd")
    if mvhd is None:
        raise ProbeError("moov without mvhd")
    data = _read(f, *mvhd)
    if data[0] == 1:
        timescale, duration = struct.unpack(">IQ", data[20:32])
    else:
        timescale, duration = struct.unpack(">II", data[12:20])
    mvex = _child(f, moov_offset, moov_size, b"mvex")
    if duration == 0 and mvex is not None and (mehd := _child(f, *mvex, b"mehd")) is not None:
        raw = _read(f, *mehd)  # fragmented MP4: the whole presentation's duration, if the writer gave it
        duration = struct.unpack(">Q" if raw[0] == 1 else ">I", raw[4:12] if raw[0] == 1 else raw[4:8])[0]
    for kind, offset, size in _boxes(f, moov_offset, moov_offset + moov_size):
        if kind == b"trak" and (track := _video_track(f, offset, size)) is not None:
            codec, width, height, color_range, rotation, frames, media_seconds, keyframes = track
            seconds = duration / timescale if timescale else media_seconds
            rate = frames / media_seconds if media_seconds > 0 else 0.0
            return VideoInfo(MOV_FORMAT, codec, round(seconds * 1000), rate, width, height, color_range,
                             rotation, frames, keyframes, moov_at_end=b"mdat" in top)
    raise ProbeError("no video track")


def _video_track(f: Stream, offset: int, size: int
                 ) -> tuple[str, int, int, str, int, int, float, int | None] | None:
    mdia = _child(f, offset, size, b"mdia")
    if mdia is None:
        return None
    hdlr = _child(f, *mdia, b"hdlr")
    if hdlr is None or _read(f, *hdlr)[8:12] != b"vide":
        return None
    mdhd = _read(f, *_need(f, mdia, b"mdhd"))
    timescale = struct.unpack(">I", mdhd[20:24] if mdhd[0] == 1 else mdhd[12:16])[0]
    stbl = _need(f, _need(f, mdia, b"minf"), b"stbl")
    stsd = _read(f, *_need(f, stbl, b"stsd"))
    if len(stsd) < 16 + 78:
        raise ProbeError("empty stsd")
    entry_size, fourcc = struct.unpack(">I4s", stsd[8:16])
    entry = stsd[16:8 + entry_size]
    width, height = struct.unpack(">HH", entry[24:28])
    color_range = "LIMITED"
    for kind, start, length in _inner_boxes(entry[78:]):
        if kind == b"colr" and length >= 11 and entry[78 + start:78 + start + 4] == b"nclx":
            full = entry[78 + start + 10] >> 7
            color_range = "FULL" if full else "LIMITED"
            break
        if kind == b"avcC" and avcc_full_range(entry[78 + start:78 + start + length]):
            color_range = "FULL"
    stts_box = _child(f, *stbl, b"stts")
    frames, ticks = 0, 0
    if stts_box is not None:
        stts = _read(f, *stts_box)
        (count,) = struct.unpack(">I", stts[4:8])
        for i in range(count):
            n, delta = struct.unpack(">II", stts[8 + 8 * i:16 + 8 * i])
            frames, ticks = frames + n, ticks + n * delta
    stss = _child(f, *stbl, b"stss")  # only its entry count: a long video with 1 keyframe can't be split
    keyframes = struct.unpack(">I", _read(f, stss[0] + 4, 4))[0] if stss is not None else None
    rotation = _tkhd_rotation(_read(f, *_need(f, (offset, size), b"tkhd")))
    codec = CODECS.get(fourcc, fourcc.decode("latin-1").strip())
    media_seconds = ticks / timescale if timescale else 0.0
    return codec, width, height, color_range, rotation, frames, media_seconds, keyframes


def _inner_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """Boxes inside an in-memory payload: (type, payload start, payload length)."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size < 8:
            return
        yield kind, pos + 8, min(size, len(data) - pos) - 8
        pos += size


def _tkhd_rotation(tkhd: bytes) -> int:
    """Display rotation from tkhd's matrix {a b u / c d v / x y w} (a, b, c, d in 16.16 fixed point)."""
    matrix_at = 52 if tkhd[:1] == b"\x01" else 40
    if len(tkhd) < matrix_at + 36:
        return 0
    a, b = struct.unpack(">ii", tkhd[matrix_at:matrix_at + 8])
    if a == b == 0:
        return 0
    return round(math.degrees(math.atan2(b, a))) % 360


def _probe_avi(f: Stream, file_size: int) -> VideoInfo:
    """AVI: the main header (avih) and the first video stream's strh/strf, from the hdrl list."""
    hdrl = None
    for kind, offset, size in _riff_chunks(f, 12, file_size):
        if kind == b"LIST" and _read(f, offset, 4) == b"hdrl":
            hdrl = (offset + 4, size - 4)
            break
    if hdrl is None:
        raise ProbeError("AVI without hdrl")
    avih = None
    for kind, offset, size in _riff_chunks(f, hdrl[0], hdrl[0] + hdrl[1]):
        if kind == b"avih":
            avih = _read(f, offset, min(size, 56))
        elif kind == b"LIST" and _read(f, offset, 4) == b"strl":
            chunks = {k: (o, s) for k, o, s in _riff_chunks(f, offset + 4, offset + size)}
            strh = _read(f, *chunks.get(b"strh", (0, 0)))
            if strh[:4] != b"vids" or b"strf" not in chunks or avih is None:
                continue
            scale, rate, _, length = struct.unpack("<IIII", strh[20:36])
            strf = _read(f, *chunks[b"strf"])
            width, height = struct.unpack("<ii", strf[4:12])
            compression = strf[16:20]
            codec = "h264" if compression in AVI_H264 else compression.decode("latin-1").strip().lower()
            fps = rate / scale if scale else 1e6 / max(struct.unpack("<I", avih[:4])[0], 1)
            frames = length or struct.unpack("<I", avih[16:20])[0]
            return VideoInfo(AVI_FORMAT, codec, round(frames / fps * 1000) if fps else 0, fps, width,
                             abs(height), "LIMITED", 0, frames, None, moov_at_end=False)
    raise ProbeError("AVI without a video stream")


def _riff_chunks(f: Stream, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return
        kind, size = struct.unpack("<4sI", header)
        yield kind, pos + 8, size
        pos += 8 + size + (size & 1)
