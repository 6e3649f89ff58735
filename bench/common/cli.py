"""The benches' command lines: a parser whose help is the module's docstring, and the flags several share."""

from __future__ import annotations

import argparse


def parser(doc: str | None, prog: str | None = None) -> argparse.ArgumentParser:
    """An ArgumentParser that prints the bench's docstring (its README section in short) as its help."""
    return argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_before(parse: argparse.ArgumentParser) -> None:
    """--before REV: the commit whose pipeline "before" runs (bench.common.revision)."""
    parse.add_argument("--before", metavar="REV",
                       help="the commit to compare against (default: the newest commit on HEAD's first-parent line "
                            "whose face pipeline differs from the working tree's)")


def threads_list(text: str) -> list[int]:
    """"1,2" -> [1, 2]: onnxruntime intra-op thread counts to run at."""
    return [int(value) for value in text.split(",") if value]
