"""Operations on faces (registered as they are implemented)."""

from __future__ import annotations
