"""Correct networks that fork in backprop.

* ``ForksInBackprop`` -- parent and child both return the gradient.  The child schedules its own
  end (os._exit after 5 s), so it cannot outlive a run by more than that even if nobody kills it.
* ``ForkLeavesTheSession`` -- the first backprop forks a child that starts a session of its own
  (out of reach of a kill of the worker's process group) and sleeps 8 s, and a grandchild whose
  parent exits at once (an orphan, no longer the worker's child).  Both must end with the run.
"""

import os
import threading
import time

from . import _base


class ForksInBackprop(_base.Network):
    def backprop(self, x, y):
        if os.fork() == 0:
            timer = threading.Timer(5.0, os._exit, (0,))
            timer.daemon = True
            timer.start()
        return super().backprop(x, y)


class ForkLeavesTheSession(_base.Network):
    forked = False

    def backprop(self, x, y):
        if not ForkLeavesTheSession.forked:
            ForkLeavesTheSession.forked = True
            for orphan in (False, True):
                if os.fork() == 0:
                    os.setsid()
                    if orphan and os.fork():
                        os._exit(0)
                    time.sleep(8.0)
                    os._exit(0)
        return super().backprop(x, y)
