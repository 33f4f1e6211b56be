"""Directional mode: certify a gradient by its projections along directions (dot-product and Taylor tests)."""
