"""NextToken handling: a token is the sort key to resume after; one that cannot be such a key is refused."""

from __future__ import annotations

import regex

from facesearch.errors import InvalidPaginationTokenException


def check_token(token: str | None, pattern: regex.Pattern[str]) -> str | None:
    if token is None:
        return None
    if not pattern.fullmatch(token):
        raise InvalidPaginationTokenException("Invalid pagination token.")
    return token
