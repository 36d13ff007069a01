"""The one seam through which ``schema`` reaches ``db``: the row types it maps to GraphQL
types (``models``) and the domain's vocabulary those rows carry (``ledgers``: ledger
kinds, statuses, actions). Everything else schema needs comes from ``resolvers``; the
import contract in ``pyproject.toml`` fails the build otherwise."""

from __future__ import annotations

from db import ledgers, models

__all__ = ["ledgers", "models"]
