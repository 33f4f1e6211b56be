"""Softmax backward uses only the Jacobian's diagonal: dx = dout * s * (1 - s).

Mutant of SoftmaxShortcut in tests/zoo/correct/layers_correct.py.
"""

import numpy as np


class SoftmaxShortcut:
    def forward(self, x):
        e = np.exp(x - x.max(axis=0, keepdims=True))
        self.s = e / e.sum(axis=0, keepdims=True)
        return self.s

    def backward(self, dout):
        return dout * self.s * (1.0 - self.s)
