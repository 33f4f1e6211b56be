"""pytest.skip() called inside the candidate (a BaseException: pytest's Skipped)."""

import pytest

from . import _base


class PytestSkipInBackprop(_base.Network):
    def backprop(self, x, y):
        pytest.skip("not today")
