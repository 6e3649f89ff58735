"""Opaque NextTokens, bound to the operation and collection they were issued for, and the paging loop.

A token carries the sort key to resume after, with a digest of (operation, scope): a token of another
operation or collection, or one that is not ours at all, is InvalidPaginationTokenException. Tokens fit the
model's PaginationToken (at most 255 characters): a key too long for that is carried as a prefix plus a digest
of the whole key, and the page resumes after the item with that digest.

`page_of` asks for one item more than the page holds, so a page that ends exactly at the last item hands out
no token to an empty page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from facesearch.errors import InvalidPaginationTokenException
from facesearch.storage import Page

T = TypeVar("T")
MAX_KEY_IN_TOKEN = 120  # characters of the resume key a token carries as is (base64 of JSON <= 255)


@dataclass(frozen=True)
class Cursor:
    start_after: str | None = None
    skip_through: str | None = None  # digest of the last key, when only its prefix is in start_after


def _digest(text: str, size: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


def encode(operation: str, scope: str, last_key: str) -> str:
    fields: dict[str, str] = {"s": _digest(f"{operation}\n{scope}", 12), "k": last_key[:MAX_KEY_IN_TOKEN]}
    if len(last_key) > MAX_KEY_IN_TOKEN:
        fields["h"] = _digest(last_key)
    raw = json.dumps(fields, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str | None, operation: str, scope: str) -> Cursor:
    if token is None:
        return Cursor()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
        if not isinstance(fields, dict) or fields.get("s") != _digest(f"{operation}\n{scope}", 12):
            raise ValueError("not a token of this operation and scope")
        key, skip = fields["k"], fields.get("h")
        if not isinstance(key, str) or not (skip is None or isinstance(skip, str)):
            raise ValueError("malformed token")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidPaginationTokenException("Invalid pagination token.") from error
    return Cursor(key, skip)


def page_of(fetch: Callable[[int, str | None], Page[T]], key_of: Callable[[T], str], limit: int, cursor: Cursor,
            keep: Callable[[T], bool] = lambda _: True) -> tuple[list[T], str | None]:
    """Up to `limit` kept items after `cursor`, and the key to resume after if more kept items follow."""
    found: list[T] = []
    start, skipping = cursor.start_after, cursor.skip_through
    while len(found) <= limit:
        page = fetch(limit + 1 - len(found), start)
        for item in page.items:
            key = key_of(item)
            if skipping is not None and start is not None and key.startswith(cursor.start_after or ""):
                if _digest(key) == skipping:
                    skipping = None
                continue
            skipping = None
            if keep(item):
                found.append(item)
        start = page.next_key
        if start is None:
            break
    if len(found) > limit:
        return found[:limit], key_of(found[limit - 1])
    return found, None


def paged(token: str | None, operation: str, scope: str, fetch: Callable[[int, str | None], Page[T]],
          key_of: Callable[[T], str], limit: int, keep: Callable[[T], bool] = lambda _: True
          ) -> tuple[list[T], str | None]:
    """The page a request's NextToken asks for (`page_of` from the decoded cursor) and the NextToken to
    hand out with it, None after the last item."""
    items, next_key = page_of(fetch, key_of, limit, decode(token, operation, scope), keep)
    return items, encode(operation, scope, next_key) if next_key else None
