"""One classic bug each in the nnfs conventions (tests/zoo/styles/nnfs_layers.py, nnfs_losses.py)."""

import numpy as np

from ..styles import nnfs_layers, nnfs_losses


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


class CrossentropyNotAveraged(nnfs_losses.Loss_CategoricalCrossentropy):
    def backward(self, dvalues, y_true):
        labels = len(dvalues[0])
        if len(y_true.shape) == 1:
            y_true = np.eye(labels)[y_true]
        self.dinputs = -y_true / dvalues  # BUG: the gradient of the sum, not of calculate's mean: / samples


class SoftmaxCrossentropyNotAveraged(nnfs_losses.Activation_Softmax_Loss_CategoricalCrossentropy):
    def backward(self, dvalues, y_true):
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(len(dvalues)), y_true] -= 1  # BUG: / samples is missing
