"""Candidates that take SIGALRM out of the harness's hands, then hang (for at most 60 s)."""

import signal
import time

from . import _base

HANG_SECONDS = 60  # far past any deadline gradcert sets, yet bounded if it were ever orphaned


def _hang():
    end = time.monotonic() + HANG_SECONDS
    while time.monotonic() < end:
        time.sleep(0.05)


class IgnoresAlarmAndHangs(_base.Network):
    def backprop(self, x, y):
        try:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
        except ValueError:  # not the main thread: nothing to ignore from here
            pass
        _hang()
        return super().backprop(x, y)


class CancelsAlarmAndHangs(_base.Network):
    def backprop(self, x, y):
        signal.alarm(0)
        _hang()
        return super().backprop(x, y)
