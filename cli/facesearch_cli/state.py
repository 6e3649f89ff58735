"""The local record of what `facesearch index` has indexed, so a second run does not even resend it.

One JSON line per indexed source (identity, ExternalImageId, FaceIds), appended and flushed as each
finishes: a run cut short anywhere loses at most the requests in flight, and those the service's own
dedupe (same image + ExternalImageId) answers with the faces it already stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TextIO


def default_path(endpoint: str, collection: str) -> Path:
    """~/.cache/facesearch/index-<digest of endpoint and collection>.jsonl"""
    digest = hashlib.sha256(f"{endpoint}\n{collection}".encode()).hexdigest()[:16]
    return Path.home() / ".cache" / "facesearch" / f"index-{collection}-{digest}.jsonl"


class IndexState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, list[str]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self.done[entry["identity"]] = entry["face_ids"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def __contains__(self, identity: str) -> bool:
        return identity in self.done

    def record(self, identity: str, external_image_id: str, face_ids: list[str]) -> None:
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(json.dumps({"identity": identity, "external_image_id": external_image_id,
                                         "face_ids": face_ids}) + "\n")
            self._file.flush()
            self.done[identity] = face_ids

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
