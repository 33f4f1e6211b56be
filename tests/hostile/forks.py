"""A correct network that forks in backprop; parent and child both return the gradient.

The child schedules its own end (os._exit after 5 s), so it cannot outlive a
run by more than that even if nobody kills it.
"""

import os
import threading

from . import _base


class ForksInBackprop(_base.Network):
    def backprop(self, x, y):
        if os.fork() == 0:
            timer = threading.Timer(5.0, os._exit, (0,))
            timer.daemon = True
            timer.start()
        return super().backprop(x, y)
