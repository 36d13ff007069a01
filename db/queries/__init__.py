"""Data access as keyword-only, verb-named functions over an ``AsyncSession``."""
