"""Numbers as the benches print them: percentiles in ms, ratios, plain-text tables, timestamped progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")

LATENCY_HEADER = ["call (client wall time, ms)", "n", "p50", "p95", "p99", "max"]


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile, NaN for no values."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def ms(values: Sequence[float], q: float) -> str:
    """The q-th percentile of seconds, in ms with one decimal ("-" for no values)."""
    return f"{1000 * pct(values, q):.1f}" if len(values) else "-"


def ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100.0 * part / whole:.2f} %" if whole else f"{part}/0"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A boxed table: the first column left-aligned, the others right-aligned."""
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(row: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))) + " |"

    return "\n".join([title, line, fmt(cells[0]), line, *(fmt(row) for row in cells[1:]), line])


def latency_row(label: str, values: Sequence[float]) -> list[object]:
    """One LATENCY_HEADER row; p99 only from 100 values on, where it means something."""
    return [label, len(values), ms(values, 50), ms(values, 95), ms(values, 99) if len(values) >= 100 else "-",
            f"{1000 * max(values):.1f}" if values else "-"]


def single_row(label: str, seconds: float) -> list[object]:
    """A LATENCY_HEADER row of one measurement."""
    return [label, 1, f"{1000 * seconds:.1f}", "", "", ""]


def timed(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> tuple[R, float]:
    """fn's result and its wall time in seconds."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def log(message: str) -> None:
    """Progress on stderr with the time of day, so stdout holds only the results."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
