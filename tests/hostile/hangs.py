"""Candidates that hang where a harness may not be timing them (each for at most 60 s)."""

import time

import numpy as np

from . import _base

HANG_SECONDS = 60


class CatchesBaseExceptionLoop(_base.Network):
    """Swallows every exception a harness might raise to stop it (KeyboardInterrupt, a timeout)."""

    def backprop(self, x, y):
        end = time.monotonic() + HANG_SECONDS
        while time.monotonic() < end:
            try:
                time.sleep(0.05)
            except BaseException:
                pass
        return super().backprop(x, y)


class _SlowArray:
    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        time.sleep(HANG_SECONDS)
        return np.asarray(self.array, dtype=dtype)


class HangsInArray(_base.Network):
    """Returns array-likes whose conversion to an ndarray hangs."""

    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return [_SlowArray(b) for b in nabla_b], [_SlowArray(w) for w in nabla_w]


class HangsInWeightsSetter(_base.Network):
    """A ``weights`` property whose setter hangs once the network exists."""

    def __init__(self, sizes):
        self._ready = False
        super().__init__(sizes)
        self._ready = True

    @property
    def weights(self):
        return self._weights

    @weights.setter
    def weights(self, value):
        if getattr(self, "_ready", False):
            time.sleep(HANG_SECONDS)
        self._weights = value


class LeavesItsProcessGroup(_base.Network):
    """Tries to move itself out of the process group a harness kills (into its parent's, or a new
    session: a session leader is refused both), then hangs."""

    def backprop(self, x, y):
        import os

        for leave in (lambda: os.setpgid(0, os.getpgid(os.getppid())), os.setsid):
            try:
                leave()
            except OSError:
                pass
        time.sleep(HANG_SECONDS)
        return super().backprop(x, y)
