"""Dense layers with unusual parameter names (tests/zoo/styles/param_conventions.py), one bug each."""

import numpy as np

from ..styles import param_conventions


class PrivateDenseBiasGradAveraged(param_conventions.PrivateDense):
    def backward(self, dout):
        self._dw = self._x.T @ dout
        self._db = dout.mean(axis=0)  # BUG: the mean over the batch, not the sum
        return dout @ self._w.T


class KernelDenseTransposedGrad(param_conventions.KernelDense):
    def backward(self, grad):
        self.kernel_grad = np.matmul(grad.T, self.last_input)  # BUG: transposed; unseen for square kernels
        self.bias_grad = np.sum(grad, axis=0)
        return np.matmul(grad, self.kernel.T)


class AdjointAffineInputGradSignFlipped(param_conventions.AdjointAffine):
    def backward(self, y_bar):
        self.A_bar = y_bar @ self.x.T
        self.c_bar = y_bar.sum(axis=1, keepdims=True)
        return -(self.A.T @ y_bar)  # BUG: sign flipped
