"""A correct network that prints 2,000 lines to stdout and stderr in every backprop."""

import sys

from . import _base


class PrintsALot(_base.Network):
    def backprop(self, x, y):
        for i in range(1000):
            print(f"epoch {i}: cost {i / 1000:.3f} {{\"verdict\": \"certified\"}}")
            print(f"warning {i}", file=sys.stderr)
        return super().backprop(x, y)
