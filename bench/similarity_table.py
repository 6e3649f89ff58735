"""README's Similarity table, rendered from bench/results/calibration.json and facesearch.vision.similarity.

    .venv/bin/python -m bench.similarity_table           # print the table
    .venv/bin/python -m bench.similarity_table --write   # replace it in README.md between the markers

The numbers are never typed by hand: bench/calibration.py measures them and writes the JSON, this turns
the JSON plus the service's curve (to_cosine) into Markdown, and tests/unit/test_similarity_table.py fails
when README.md's table is not this rendering of the committed JSON.

Per Similarity level: the cosine it stands for; the false-match rate per comparison on LFW (measured when
at least `min_measured_pairs` impostor pairs lie above the cosine, else the tail fit's extrapolation,
marked "fit"); TAR on LFW and on the studio photos; and the expected wrong faces per search (N x FMR).
Pair counts at a cosine are interpolated linearly between the JSON's grid points (0.0005 apart).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import numpy as np

from bench.common import cli
from bench.common.sets import REPO
from facesearch.vision.similarity import to_cosine

RESULTS = REPO / "bench" / "results" / "calibration.json"
README = REPO / "README.md"
START, END = "<!-- similarity-table:start -->", "<!-- similarity-table:end -->"
LEVELS = (50.0, 70.0, 80.0, 90.0, 95.0, 99.0)
GALLERIES = (10_000, 100_000, 1_000_000, 20_000_000)


def _count_at(results: dict[str, Any], population: str, kind: str, cosine: float) -> float:
    grid = results["grid"]
    cosines = np.arange(grid["start"], grid["stop"] + grid["step"] / 2, grid["step"])
    counts = np.asarray(results["populations"][population][f"{kind}_at_least"], dtype=np.float64)
    return float(np.interp(cosine, cosines, counts))


def _share(results: dict[str, Any], population: str, kind: str, cosine: float) -> float:
    return _count_at(results, population, kind, cosine) / float(results["populations"][population][f"{kind}_pairs"])


def false_match_rate(results: dict[str, Any], cosine: float) -> tuple[float, str, float]:
    """(FMR per comparison, 'measured' | 'fit', impostor pairs measured above `cosine`) on LFW."""
    pairs = _count_at(results, "lfw", "impostor", cosine)
    if pairs >= results["curve"]["min_measured_pairs"]:
        return pairs / results["populations"]["lfw"]["impostor_pairs"], "measured", pairs
    fit = results["fit"]
    return 10 ** (fit["intercept"] + fit["slope"] * cosine), "fit", pairs


def _wrong_faces(n: float) -> str:
    if n >= 10:
        return f"{n:,.0f}"
    if n >= 0.01:
        return f"{n:.2g}"
    return f"{n:.0e}"


def _pairs(n: float) -> str:
    return f"{n:,.0f} pair" + ("" if round(n) == 1 else "s")


def render(results: dict[str, Any]) -> str:
    """The Markdown table (plus its key) for `results` under the service's current curve."""
    lfw, studio = results["populations"]["lfw"], results["populations"]["studio"]
    head = ["Similarity", "cosine", "false matches per comparison (LFW)", "TAR LFW", "studio: FMR", "studio: TAR"]
    head += [f"wrong faces per search, {_short(n)} faces" for n in GALLERIES]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for level in LEVELS:
        cosine = float(to_cosine(level))
        fmr, source, pairs = false_match_rate(results, cosine)
        if source == "measured":
            rate = f"{fmr:.1e}"
        else:
            rate = f"{fmr:.1e} fit (measured {pairs / lfw['impostor_pairs']:.1e}: {_pairs(pairs)})"
        studio_pairs = _count_at(results, "studio", "impostor", cosine)
        cells = [f"**{level:.0f}**" if level == 80 else f"{level:.0f}", f"{cosine:.3f}", rate,
                 f"{100 * _share(results, 'lfw', 'genuine', cosine):.2f} %",
                 f"{studio_pairs / studio['impostor_pairs']:.1e} ({_pairs(studio_pairs)})",
                 f"{100 * _share(results, 'studio', 'genuine', cosine):.1f} %"]
        cells += [_wrong_faces(n * fmr) for n in GALLERIES]
        lines.append("| " + " | ".join(cells) + " |")
    fit = results["fit"]
    lines.append("")
    lines.append(
        f"LFW: {lfw['impostor_pairs']:,} impostor and {lfw['genuine_pairs']:,} genuine pairs "
        f"({lfw['identities']:,} people); studio: {studio['impostor_pairs']:,} impostor and "
        f"{studio['genuine_pairs']:,} genuine pairs ({studio['identities']} people). \"fit\": extrapolated "
        f"from log10 FMR = {fit['intercept']:.2f} - {-fit['slope']:.2f} x cosine, fitted over cosine "
        f"{fit['cosine_low']:.3f}-{fit['cosine_high']:.3f} (rms {fit['rms_decades']:.2f} decades); "
        f"\"wrong faces per search\" = faces x FMR (LFW)."
    )
    return "\n".join(lines)


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def readme_block(text: str) -> str:
    """What README.md holds between the markers (without them)."""
    match = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, re.DOTALL)
    if match is None:
        raise ValueError(f"README.md has no {START} ... {END} block")
    return match.group(1)


def with_table(text: str, table: str) -> str:
    block = readme_block(text)
    return text.replace(f"{START}\n{block}\n{END}", f"{START}\n{table}\n{END}")


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args()
    table = render(json.loads(RESULTS.read_text()))
    if args.write:
        README.write_text(with_table(README.read_text(), table))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
