"""A worker reads only its own part of a video: byte ranges of the S3 object, served to FFmpeg over loopback
HTTP (video/http_bridge.py), whatever the object's size."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest

from facesearch.storage.input_objects import InputObjects, ObjectRef
from facesearch.video.http_bridge import HttpBridge
from facesearch.vision.video_container import probe
from facesearch.vision.video_decoder import sample_frames
from tests.conftest import FIXTURES
from tests.fixtures.video.synth import Appearance, make_video

SECONDS = 40.0
PEOPLE = [Appearance(FIXTURES / "london_021_smiling.jpg", 0.0, SECONDS, x=0.4, drift=0.3)]


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("reading") / "long.mp4", PEOPLE, SECONDS, size=(320, 240), grain=30)


def test_a_segment_in_the_middle_reads_a_fraction_of_the_file(aws, long_video):
    aws["s3"].upload_file(str(long_video), "facesearch-test-inputs", "long.mp4")
    inputs = InputObjects(aws["s3"], lambda bucket: True)  # type: ignore[arg-type]
    # fetches of at most 1 MiB (8 by default) so that a 21 MB file shows what a segment costs
    with inputs.open(ObjectRef("facesearch-test-inputs", "long.mp4"), max_fetch=1 << 20) as reader:
        with HttpBridge(reader, reader.size) as url:
            frames = list(sample_frames(url, 20_000, 24_000, 200))
        assert [t for t, _ in frames] == list(range(20_000, 24_000, 200))
        assert reader.bytes_read < 0.35 * reader.size, (reader.bytes_read, reader.size)
        assert reader.requests <= 16
    direct = list(sample_frames(str(long_video), 20_000, 24_000, 200))
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(frames, direct, strict=True))


class Padded(io.RawIOBase):
    """A video with a `free` box of `gap` zero bytes before its moov atom, without storing the zeros: the moov
    (and so every seek the demuxer starts with) lies past the 2 GiB that OpenCV's own stream bridge can seek."""

    def __init__(self, data: bytes, gap: int) -> None:
        super().__init__()
        moov = data.rindex(b"moov") - 4
        header = struct.pack(">I4sQ", 1, b"free", gap + 16)
        self.parts = [(0, data[:moov]), (moov, header), (moov + len(header) + gap, data[moov:])]
        self.size = moov + len(header) + gap + len(data) - moov
        self.position = 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = offset + (self.position if whence == 1 else self.size if whence == 2 else 0)
        return self.position

    def read(self, size: int = -1, /) -> bytes:
        size = self.size - self.position if size < 0 else min(size, self.size - self.position)
        out = bytearray(size)
        for start, part in self.parts:
            lo, hi = max(start, self.position), min(start + len(part), self.position + size)
            if lo < hi:
                out[lo - self.position : hi - self.position] = part[lo - start : hi - start]
        self.position += size
        return bytes(out)


def test_objects_past_2_gib_are_read_with_64_bit_offsets(long_video):
    padded = Padded(long_video.read_bytes(), 3 << 30)
    assert probe(padded, padded.size).duration_ms == 40_000
    with HttpBridge(padded, padded.size) as url:
        frames = list(sample_frames(url, 30_000, 31_000, 200))
    assert [t for t, _ in frames] == list(range(30_000, 31_000, 200))
