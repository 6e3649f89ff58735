"""Timing on a shared, noisy machine: contenders alternated call by call, medians, percentiles and ratios.

A bench never compares numbers taken at different times: it runs its contenders in turns (A B, then B A,
...), so a load change on the machine hits both alike, and prints medians and ratios of the same run.
Where onnxruntime computes in the caller's thread (one intra-op thread) the thread's CPU time is kept too:
it stays near a quiet machine's figure when other processes load the CPU, while wall time does not.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def timed(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> tuple[R, float]:
    """fn's result and its wall time in seconds."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


@dataclass(frozen=True)
class Timing:
    """Milliseconds: wall time, and the CPU time of the calling thread."""

    wall_ms: float
    cpu_ms: float


def clocked(fn: Callable[[], object]) -> Timing:
    """The wall and thread CPU time of one call of fn."""
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return Timing(1000 * (time.perf_counter() - wall), 1000 * (time.thread_time() - cpu))


def median_timing(samples: Sequence[Timing]) -> Timing:
    return Timing(statistics.median(t.wall_ms for t in samples), statistics.median(t.cpu_ms for t in samples))


def turns(contenders: Sequence[T], rounds: int) -> Iterator[list[T]]:
    """The contenders' order in each round: as given, reversed, as given, ... (A B, B A, A B, ...)."""
    for round_ in range(rounds):
        yield list(contenders) if round_ % 2 == 0 else list(contenders)[::-1]


def alternate(jobs: Mapping[str, Callable[[], object]], rounds: int, warm: bool = True) -> dict[str, list[Timing]]:
    """Every job once per round, in `turns` order (after one untimed warm-up call each)."""
    if warm:
        for job in jobs.values():
            job()
    samples: dict[str, list[Timing]] = {name: [] for name in jobs}
    for order in turns(list(jobs), rounds):
        for name in order:
            samples[name].append(clocked(jobs[name]))
    return samples


def alternate_medians(jobs: Mapping[str, Callable[[], object]], rounds: int) -> dict[str, Timing]:
    """`alternate`, reduced to each job's median wall and CPU time."""
    return {name: median_timing(values) for name, values in alternate(jobs, rounds).items()}


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile, NaN for no values."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def ms(values: Sequence[float], q: float) -> str:
    """The q-th percentile of seconds, in ms with one decimal ("-" for no values)."""
    return f"{1000 * pct(values, q):.1f}" if len(values) else "-"


def share(part: int, whole: int) -> str:
    """"part/whole = x.xx %"."""
    return f"{part}/{whole} = {100.0 * part / whole:.2f} %" if whole else f"{part}/0"


def load_average() -> str:
    """The 1/5/15-minute load averages, as "a / b / c"."""
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())
