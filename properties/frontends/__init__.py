"""Thin front ends over one validated Options: the command line, the pytest plugin, selftest, reports."""
