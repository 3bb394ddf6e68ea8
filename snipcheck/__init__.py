"""Extract every code snippet of a Jekyll blog's posts, verify it, and record what it printed."""

__version__ = "0.1.0"
