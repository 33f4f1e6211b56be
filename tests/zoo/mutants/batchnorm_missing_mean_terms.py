"""Batch-norm backward ignores the batch statistics: dx = dout * inv_std.

Mutant of BatchNormLayer in tests/zoo/correct/layers_correct.py.
"""

import numpy as np


class BatchNormLayer:
    eps = 1e-5

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        if x.shape[0] != self.n:
            raise ValueError(f"BatchNormLayer({self.n}) got x of shape {x.shape}")
        centred = x - x.mean(axis=1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(np.mean(centred ** 2, axis=1, keepdims=True) + self.eps)
        self.u = centred * self.inv_std
        return self.u

    def backward(self, dout):
        return dout * self.inv_std
