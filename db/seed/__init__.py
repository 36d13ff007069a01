"""Data sets to load: the demo county."""
