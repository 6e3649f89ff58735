"""Handing work on: like Lambda's asynchronous invocations, a failing attempt is tried again, and work that
fails every attempt goes to the failure handler, once."""

from __future__ import annotations

from facesearch.video.launch import MAX_ATTEMPTS, ThreadLauncher, event, is_video_event


def test_work_that_fails_once_is_tried_again():
    attempts: list[dict] = []
    failures: list[str] = []

    def flaky(work: dict) -> None:
        attempts.append(work)
        if len(attempts) == 1:
            raise ConnectionError("lost")

    launcher = ThreadLauncher(workers=1)
    launcher.launch(event("segment", "job", Segment=1), flaky, lambda work, reason: failures.append(reason))
    assert launcher.wait_idle(10)
    assert len(attempts) == 2 and failures == []


def test_work_that_fails_every_attempt_goes_to_the_failure_handler_once():
    failures: list[tuple[dict, str]] = []

    def broken(work: dict) -> None:
        raise ValueError("corrupt")

    launcher = ThreadLauncher(workers=1)
    launcher.launch(event("plan", "job"), broken, lambda work, reason: failures.append((work, reason)))
    assert launcher.wait_idle(10)
    ((work, reason),) = failures
    assert work["JobId"] == "job" and "corrupt" in reason and MAX_ATTEMPTS == 3


def test_video_events_are_told_from_other_events():
    assert is_video_event(event("merge", "job")) and not is_video_event({"facesearch": "search-slice"})
