"""How a video is cut and sampled: every sample time in exactly one segment, 200 ms apart."""

from __future__ import annotations

import itertools

import pytest

from facesearch.video.plan import segments


@pytest.mark.parametrize(("duration", "segment", "step"), [(10_000, 4_000, 200), (60_000, 180_000, 200),
                                                            (21_600_000, 180_000, 200), (999, 500, 200),
                                                            (12_345, 3_000, 333)])
def test_every_sample_time_falls_in_exactly_one_segment(duration, segment, step):
    cut = segments(duration, segment, step)
    times = [t for part in cut for t in part.sample_times(step)]
    assert times == list(range(0, duration, step))
    assert cut[0].start_ms == 0 and cut[-1].end_ms == duration
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(cut))


def test_a_six_hour_video_is_120_segments_of_three_minutes():
    cut = segments(6 * 3600 * 1000)
    assert len(cut) == 120 and {part.end_ms - part.start_ms for part in cut} == {180_000}


def test_a_segment_is_a_whole_number_of_steps_so_no_sample_is_lost_at_a_boundary():
    cut = segments(10_000, segment_ms=1_050, step_ms=200)
    assert all((part.end_ms - part.start_ms) % 200 == 0 for part in cut[:-1])
