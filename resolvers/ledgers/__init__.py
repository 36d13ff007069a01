"""Ledgers (台账): the catalog a caller may see, reading items, recording them, handling
them, and sheets in and out (``exports``, ``imports``)."""
