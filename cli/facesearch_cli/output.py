"""Readable tables and JSON for the terminal."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def as_json(value: Any) -> str:
    def default(item: object) -> str:
        if isinstance(item, bytes):
            return base64.b64encode(item).decode("ascii")
        return str(item)

    return json.dumps(value, indent=2, default=default)


def json_line(value: Any) -> str:
    """One JSON document on one line (JSON lines)."""
    return json.dumps(value, separators=(",", ":"))


def box(bounding_box: dict[str, float]) -> str:
    return "({:.3f}, {:.3f}) {:.3f}x{:.3f}".format(bounding_box["Left"], bounding_box["Top"],
                                                   bounding_box["Width"], bounding_box["Height"])


def search_rows(searched: Sequence[dict[str, Any]]) -> list[list[object]]:
    """One row per match (a face without matches gets one row saying so), faces numbered from 1."""
    rows: list[list[object]] = []
    for number, face in enumerate(searched, start=1):
        matches = face["FaceMatches"] or [None]
        for match in matches:
            if match is None:
                rows.append([number, box(face["BoundingBox"]), "(no match)", "", ""])
            else:
                rows.append([number, box(face["BoundingBox"]), match["Face"].get("ExternalImageId", "-"),
                             f"{match['Similarity']:.2f}", match["Face"]["FaceId"]])
    return rows


SEARCH_HEADER = ("face", "box (left, top) width x height", "ExternalImageId", "Similarity", "FaceId")
FACES_HEADER = ("FaceId", "ImageId", "ExternalImageId", "UserId", "Confidence")


def face_rows(faces: Sequence[dict[str, Any]]) -> list[list[object]]:
    return [[face["FaceId"], face["ImageId"], face.get("ExternalImageId", "-"), face.get("UserId", "-"),
             f"{face['Confidence']:.2f}"] for face in faces]
