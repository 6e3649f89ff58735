"""Which moments of a video are looked at, and how they are cut into segments that workers analyse apart.

Rekognition does not document its sampling; its published examples step by about 200 ms (5 samples a
second), which is the default here. A segment is a fixed span of video time, so the plan needs only the
duration: no pass over the file to find keyframes (each worker seeks to its own start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_STEP_MS = 200
DEFAULT_SEGMENT_MS = 180_000  # ~1-2.5 minutes of one worker's time at 720p, far inside Lambda's 15
MAX_DURATION_MS = 6 * 3600 * 1000  # "The maximum duration is 6 hours."
MAX_BYTES = 10 * 1024**3  # "The maximum file size is 10GB."


@dataclass(frozen=True)
class Segment:
    index: int
    start_ms: int  # the first sample is at start_ms
    end_ms: int  # samples are before end_ms

    def sample_times(self, step_ms: int) -> range:
        first = -(-self.start_ms // step_ms) * step_ms
        return range(first, self.end_ms, step_ms)


def segments(duration_ms: int, segment_ms: int = DEFAULT_SEGMENT_MS, step_ms: int = DEFAULT_STEP_MS) -> list[Segment]:
    """The video's segments; their sample times together are 0, step, 2 step, ... up to the duration, each
    in exactly one segment. A segment is a whole number of steps long."""
    span = max(step_ms, segment_ms // step_ms * step_ms)
    count = max(1, math.ceil(max(duration_ms, 1) / span))
    return [Segment(k, k * span, min((k + 1) * span, max(duration_ms, 1))) for k in range(count)]
