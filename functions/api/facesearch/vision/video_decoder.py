"""A video's sampled frames, decoded by opencv-python-headless (its FFmpeg is LGPL: no GPL code ships).

A worker owns [start, end) of a video. It seeks once (OpenCV's CAP_PROP_POS_MSEC seek goes to the keyframe
before `start` and decodes forward), then grab()s every frame and retrieve()s only the sampled ones: grab()
decodes, retrieve() pays for the colour conversion. At 200 ms steps that is about 8x cheaper than seeking
per sample, which decodes from the previous keyframe each time (bench/video.py).

The video comes in as a seekable binary file object (the caller's I/O: S3 byte ranges), or as an http(s)
URL (FFmpeg then seeks with Range requests itself). Two limits of OpenCV's Python stream bridge shape this:
an exception raised inside read() or seek() while OpenCV calls them crashes the process, so the stream is
wrapped to record the first error and report end-of-file instead (that error is raised after the loop); and
seek offsets are 32-bit there, so objects of 2 GiB and more must be given as a URL (`MAX_STREAM_BYTES`).

Timestamps are each decoded frame's presentation time in ms; frames come upright when the file carries a
rotation (OpenCV's ORIENTATION_AUTO default), in RGB.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from facesearch.vision.video_container import Stream

MAX_STREAM_BYTES = 2**31 - 1  # OpenCV's Python stream bridge truncates seek offsets to int32


class DecodeError(RuntimeError):
    """The video could not be opened or read (the job fails with this message)."""


class GuardedStream(io.BufferedIOBase):
    """A file object OpenCV may call: read() and seek() never raise; the first failure is kept in `.error`."""

    def __init__(self, raw: Stream) -> None:
        super().__init__()
        self.raw = raw
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        try:
            return self.raw.seek(offset, whence)
        except Exception as error:  # OpenCV must never see it (see the module docstring)
            self.error = self.error or error
            return -1  # FFmpeg takes a negative result as a failed seek

    def read(self, size: int | None = -1) -> bytes:
        try:
            data = self.raw.read(-1 if size is None else size)
        except Exception as error:  # OpenCV must never see it
            self.error = self.error or error
            return b""
        return bytes(data or b"")

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)


def _capture(source: Any, threads: int) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    if not capture.isOpened():
        raise DecodeError("the video cannot be opened")
    return capture


def sample_frames(video: Stream | str, start_ms: int, end_ms: int, step_ms: int, threads: int = 1
                  ) -> Iterator[tuple[int, np.ndarray]]:
    """(timestamp ms, HxWx3 uint8 RGB) of the frames nearest start, start + step, ... before end.

    A sample is the first frame whose timestamp reaches the target minus half a frame, so at 25 fps and
    200 ms every 5th frame is taken, and at 29.97 fps the chosen frames stay within half a frame of the grid.
    """
    stream = video if isinstance(video, str) else GuardedStream(video)
    capture = _capture(stream, threads)
    try:
        half_frame = 500.0 / (capture.get(cv2.CAP_PROP_FPS) or 25.0)
        if start_ms > 0:
            capture.set(cv2.CAP_PROP_POS_MSEC, float(start_ms))
        target = float(start_ms)
        while capture.grab():
            timestamp = capture.get(cv2.CAP_PROP_POS_MSEC)
            if timestamp >= end_ms:
                break
            if timestamp + half_frame < target:
                continue
            ok, bgr = capture.retrieve()
            if not ok:
                raise DecodeError(f"the frame at {timestamp:.0f} ms cannot be decoded")
            yield round(timestamp), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            while target <= timestamp + half_frame:
                target += step_ms
    finally:
        capture.release()
    error = getattr(stream, "error", None)
    if error is not None:
        raise error  # the reader's own failure (e.g. S3 unreachable), not the video's
