"""README's Similarity table and the service's curve both come from bench/results/calibration.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import similarity_table
from facesearch.vision import similarity

REPO = Path(__file__).resolve().parents[2]
RESULTS = json.loads((REPO / "bench" / "results" / "calibration.json").read_text())


def test_readme_table_is_the_rendering_of_the_committed_measurements() -> None:
    readme = (REPO / "README.md").read_text()
    assert similarity_table.readme_block(readme) == similarity_table.render(RESULTS), (
        "README.md's Similarity table is stale: run `python bench/similarity_table.py --write`"
    )


def test_service_curve_is_the_one_the_bench_derived() -> None:
    derived = [(k["cosine"], k["similarity"]) for k in RESULTS["curve"]["knots"]]
    assert ((-1.0, 0.0), *derived, (1.0, 100.0)) == similarity.KNOTS


def test_similarity_80_is_rekognitions_false_match_rate() -> None:
    """About 2e-6 per comparison (the ACLU test of Rekognition at its default threshold)."""
    fmr, _source, _pairs = similarity_table.false_match_rate(RESULTS, float(similarity.to_cosine(80)))
    assert fmr == pytest.approx(2e-6, rel=0.2)


@pytest.mark.parametrize("level, rate", [(50, 2e-3), (70, 2e-5)])
def test_lower_levels_sit_at_measured_rates(level: float, rate: float) -> None:
    fmr, source, _pairs = similarity_table.false_match_rate(RESULTS, float(similarity.to_cosine(level)))
    assert source == "measured"
    assert fmr == pytest.approx(rate, rel=0.1)


def test_higher_levels_are_stricter_by_a_decade_each() -> None:
    rates = [similarity_table.false_match_rate(RESULTS, float(similarity.to_cosine(s)))[0] for s in (80, 90)]
    assert rates[1] == pytest.approx(rates[0] / 10, rel=0.2)


def test_readme_block_is_found_and_replaced() -> None:
    text = f"before\n{similarity_table.START}\nold\n{similarity_table.END}\nafter\n"
    assert similarity_table.readme_block(text) == "old"
    assert similarity_table.with_table(text, "new") == (
        f"before\n{similarity_table.START}\nnew\n{similarity_table.END}\nafter\n"
    )
    with pytest.raises(ValueError):
        similarity_table.readme_block("no markers")
