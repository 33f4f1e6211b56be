"""Row-major softmax layers (tests/zoo/styles/softmax_layers.py), one bug each."""

import numpy as np

from ..styles import softmax_layers


class SoftmaxElementwise(softmax_layers.SoftmaxShortcut):
    def backward(self, dout):
        return dout * self.s * (1.0 - self.s)  # BUG: the Jacobian taken as its diagonal


class SoftmaxWrongAxis(softmax_layers.SoftmaxShortcut):
    def backward(self, dout):
        return self.s * (dout - np.sum(self.s * dout, axis=0, keepdims=True))  # BUG: sums over the batch
