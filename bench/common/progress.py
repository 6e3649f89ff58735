"""Progress on stderr, so stdout holds only the results: timestamped lines, and tqdm bars for long loops."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def log(message: str) -> None:
    """One line on stderr with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bar(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """`items`, with a progress bar on stderr (redrawn at most every 2 s when stderr is a log file)."""
    interval = 0.5 if sys.stderr.isatty() else 2.0
    yield from tqdm(items, desc=label, total=total, file=sys.stderr, mininterval=interval, dynamic_ncols=True,
                    leave=False)
