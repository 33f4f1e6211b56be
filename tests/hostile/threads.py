"""A correct network that leaves a non-daemon thread running (for 60 s) after backprop.

Its gradient is right: it must be certified, and the run must still end on time.
"""

import threading
import time

from . import _base


class NonDaemonThread(_base.Network):
    def backprop(self, x, y):
        threading.Thread(target=time.sleep, args=(60,), daemon=False).start()
        return super().backprop(x, y)
