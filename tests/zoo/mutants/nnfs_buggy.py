"""One classic bug each in the nnfs conventions (tests/zoo/styles/nnfs_layers.py)."""

import numpy as np

from ..styles import nnfs_layers


class DenseBiasMean(nnfs_layers.Layer_Dense):
    def backward(self, dvalues):
        super().backward(dvalues)
        self.dbiases = np.mean(dvalues, axis=0, keepdims=True)  # BUG: a mean where the sum belongs


class ReluMaskIgnored(nnfs_layers.Activation_ReLU):
    def backward(self, dvalues):
        self.dinputs = dvalues.copy()  # BUG: the mask of the inputs <= 0 is not applied


class SoftmaxDiagonalOnly(nnfs_layers.Activation_Softmax):
    def backward(self, dvalues):
        self.dinputs = dvalues * self.output * (1 - self.output)  # BUG: the Jacobian's diagonal alone
