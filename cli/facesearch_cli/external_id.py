"""ExternalImageId from a file's path, made to fit the model's pattern `[a-zA-Z0-9_.\\-:]+` (1-255 characters).

Path separators become `:` and every other character outside the pattern `_`. When that changed anything
but separators, or the id had to be shortened, a digest of the original path is appended, so two paths never
share an id ("a b.jpg" and "a_b.jpg" stay apart) and the same path always gives the same one.
"""

from __future__ import annotations

import hashlib
import re

MAX_LENGTH = 255
_OUTSIDE = re.compile(r"[^a-zA-Z0-9_.\-:]")
_DIGEST = 10


def external_image_id(relative_path: str) -> str:
    """The ExternalImageId for a path relative to the indexed folder or S3 prefix ("/"-separated)."""
    readable = relative_path.strip("/").replace("\\", "/").replace("/", ":")
    fitted = _OUTSIDE.sub("_", readable)
    if fitted == readable and 0 < len(fitted) <= MAX_LENGTH:
        return fitted
    digest = hashlib.sha256(relative_path.encode("utf-8", "surrogateescape")).hexdigest()[:_DIGEST]
    return (fitted[: MAX_LENGTH - _DIGEST - 1] + "-" + digest).lstrip("-") or digest
