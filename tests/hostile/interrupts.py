"""BaseExceptions raised by the candidate itself: KeyboardInterrupt and GeneratorExit."""

from . import _base


class KeyboardInterruptInBackprop(_base.Network):
    def backprop(self, x, y):
        raise KeyboardInterrupt


class GeneratorExitInBackprop(_base.Network):
    def backprop(self, x, y):
        raise GeneratorExit
