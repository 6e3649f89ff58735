"""Invocations of this function by itself: one slice of a fanned-out search.

They come from `lambda:InvokeFunction` (IAM-authorised, never through the public URL) and carry
`{"facesearch": "search-slice", ...}`; the answer is plain JSON for the invoking function.
"""

from __future__ import annotations

from typing import Any

from facesearch.operations import Services

KIND = "search-slice"


def is_internal(event: dict[str, Any]) -> bool:
    return isinstance(event, dict) and event.get("facesearch") == KIND


def run(services: Services, event: dict[str, Any]) -> dict[str, Any]:
    from facesearch.index import search

    return search.run_slice(services, event)
