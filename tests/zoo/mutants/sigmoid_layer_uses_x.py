"""Sigmoid backward evaluates sigma' at the output instead of the input:
dx = dout * sigmoid(out) * (1 - sigmoid(out)).

Mutant of SigmoidLayer in tests/zoo/correct/layers_correct.py.
"""

import numpy as np


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


class SigmoidLayer:
    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, dout):
        s = _sigmoid(self.out)
        return dout * s * (1.0 - s)
