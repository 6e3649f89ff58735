"""Operations on users (registered as they are implemented)."""

from __future__ import annotations
