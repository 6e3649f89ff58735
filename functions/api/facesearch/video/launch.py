"""Handing a video job's work to a worker, asynchronously: a Lambda Event invocation of the video worker
function when deployed, a pool of threads in this process locally and in tests.

Both run the same event through the same handler, with the same failure semantics: an attempt that raises is
retried (Lambda's asynchronous invocation retries it MAX_ATTEMPTS - 1 times); when the last attempt fails the
failure handler runs (deployed: the function's OnFailure destination, an SQS queue the worker reads), so a
job always ends, SUCCEEDED or FAILED.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

logger = logging.getLogger(__name__)

EVENT_KIND = "facesearch-video"  # {"facesearch-video": <phase>, "JobId": ..., ...}
MAX_ATTEMPTS = 3  # Lambda's default for asynchronous invocations: the first try and two retries

Event = dict[str, Any]
Handler = Callable[[Event], None]
FailureHandler = Callable[[Event, str], None]


def event(phase: str, job_id: str, **fields: Any) -> Event:
    return {EVENT_KIND: phase, "JobId": job_id, **fields}


def is_video_event(value: object) -> bool:
    return isinstance(value, Mapping) and EVENT_KIND in value


class Launcher(Protocol):
    def launch(self, work: Event, run_here: Handler, failed: FailureHandler) -> None:
        """Run `work` elsewhere, soon: with `run_here` (in-process launchers) or the worker function's
        handler (Lambda), and `failed(work, reason)` once every attempt has failed."""


class LambdaLauncher:
    """Asynchronous invocations of the video worker function; retries and the failure destination are
    the function's EventInvokeConfig (template.yaml), so `run_here` and `failed` are not called here."""

    def __init__(self, client: LambdaClient, function_name: str, qualifier: str | None = None) -> None:
        self.client = client
        self.function_name = function_name
        self.qualifier = qualifier

    def launch(self, work: Event, run_here: Handler, failed: FailureHandler) -> None:
        payload = json.dumps(work).encode("utf-8")
        if self.qualifier:
            self.client.invoke(FunctionName=self.function_name, Qualifier=self.qualifier, InvocationType="Event",
                               Payload=payload)
        else:
            self.client.invoke(FunctionName=self.function_name, InvocationType="Event", Payload=payload)


class ThreadLauncher:
    """Work runs on a few threads in this process (`make serve`, tests): like Lambda's queue, the call returns
    at once, a failing attempt is tried again, and a last failure goes to `failed`. The threads are daemons: a
    stopping server does not wait for a job (it ends FAILED, see operations/video/jobs.end_orphans)."""

    def __init__(self, workers: int = 2, attempts: int = MAX_ATTEMPTS) -> None:
        self.workers = workers
        self.attempts = attempts
        self._queue: queue.SimpleQueue[tuple[Event, Handler, FailureHandler]] = queue.SimpleQueue()
        self._started = False
        self._pending = 0
        self._idle = threading.Condition()

    def launch(self, work: Event, run_here: Handler, failed: FailureHandler) -> None:
        with self._idle:
            self._pending += 1
            if not self._started:
                self._started = True
                for number in range(self.workers):
                    threading.Thread(target=self._serve, name=f"video-worker-{number}", daemon=True).start()
        self._queue.put((work, run_here, failed))

    def _serve(self) -> None:
        while True:
            self._run(*self._queue.get())

    def _run(self, work: Event, run_here: Handler, failed: FailureHandler) -> None:
        try:
            for attempt in range(1, self.attempts + 1):
                try:
                    run_here(work)
                    return
                except Exception as error:  # what Lambda would catch: the attempt failed
                    logger.warning("video work %s failed (attempt %d of %d): %r", work.get(EVENT_KIND), attempt,
                                   self.attempts, error)
                    if attempt == self.attempts:
                        failed(work, f"{type(error).__name__}: {error}")
        except Exception:  # the failure handler itself failed: the job's deadline will end it
            logger.exception("video work %s: the failure handler failed", work.get(EVENT_KIND))
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no work is queued or running (tests); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)
