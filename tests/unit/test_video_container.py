"""A video's header -> Rekognition's VideoMetadata, read from a few KB whatever the file's layout."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from facesearch.vision.video_container import MOV_FORMAT, ProbeError, probe
from tests.conftest import FIXTURES
from tests.fixtures.video.synth import Appearance, make_video

PEOPLE = [Appearance(FIXTURES / "london_021_smiling.jpg", 0.0, 2.0, x=0.5)]


class Counting(io.BytesIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("containers")


@pytest.mark.parametrize(("container", "faststart"), [("mp4", False), ("mp4", True), ("mov", False)])
def test_mp4_and_mov_give_rekognitions_metadata_from_their_header_alone(folder, container, faststart):
    path = make_video(folder / f"v{faststart}.{container}", PEOPLE, 2.0, size=(320, 240), fps=30,
                      container=container, faststart=faststart)
    data = Counting(path.read_bytes())
    info = probe(data, len(data.getvalue()))
    assert info.rekognition() == {"Codec": "h264", "DurationMillis": 2000, "Format": MOV_FORMAT,
                                  "FrameRate": 30.0, "FrameHeight": 240, "FrameWidth": 320,
                                  "ColorRange": "LIMITED"}
    assert info.frame_count == 60 and info.rotation == 0 and info.moov_at_end is not faststart
    assert data.read_bytes < 16_000  # the header, never the frames


def test_another_codec_is_named_as_ffmpeg_names_it(folder):
    path = make_video(folder / "m.mp4", PEOPLE, 1.0, size=(320, 240), codec="mpeg4")
    info = probe(io.BytesIO(path.read_bytes()), path.stat().st_size)
    assert info.codec == "mpeg4"


@pytest.mark.parametrize("data", [b"", b"\x00" * 100, b"RIFF\x00\x00\x00\x00WAVE" + bytes(100),
                                  b"\x00\x00\x00\x18ftypmp42" + bytes(4000)])
def test_what_is_not_a_video_is_a_probe_error(data):
    with pytest.raises(ProbeError):
        probe(io.BytesIO(data), len(data))
