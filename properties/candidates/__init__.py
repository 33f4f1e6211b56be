"""Plugged-in implementations: loading them, driving each interface style, and their worker process."""
