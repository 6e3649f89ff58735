"""Tables as the benches print them: boxed (title, header, rows), aligned plain columns, latency rows."""

from __future__ import annotations

from collections.abc import Sequence

from bench.common.timing import ms

LATENCY_HEADER = ["call (client wall time, ms)", "n", "p50", "p95", "p99", "max"]


def _cells(header: Sequence[object], rows: Sequence[Sequence[object]]) -> tuple[list[list[str]], list[int]]:
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    return cells, [max(len(row[i]) for row in cells) for i in range(len(header))]


def _line(row: list[str], widths: list[int], left: int = 1) -> list[str]:
    """The first `left` columns left-aligned, the others right-aligned."""
    return [cell.ljust(w) if i < left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]


def boxed(title: str, header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    """A table in a box, under its title (if any)."""
    cells, widths = _cells(header, rows)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = ["| " + " | ".join(_line(row, widths)) + " |" for row in cells]
    return "\n".join([*([title] if title else []), rule, lines[0], rule, *lines[1:], rule])


def aligned(header: Sequence[object], rows: Sequence[Sequence[object]], indent: str = "  ", left: int = 1) -> str:
    """Plain columns two spaces apart, the first `left` left-aligned (labels), the others right-aligned."""
    cells, widths = _cells(header, rows)
    return "\n".join(indent + "  ".join(_line(row, widths, left)).rstrip() for row in cells)


def latency_row(label: str, values: Sequence[float]) -> list[object]:
    """One LATENCY_HEADER row of seconds; p99 only from 100 values on, where it means something."""
    return [label, len(values), ms(values, 50), ms(values, 95), ms(values, 99) if len(values) >= 100 else "-",
            f"{1000 * max(values):.1f}" if values else "-"]


def single_row(label: str, seconds: float) -> list[object]:
    """A LATENCY_HEADER row of one measurement."""
    return [label, 1, f"{1000 * seconds:.1f}", "", "", ""]
