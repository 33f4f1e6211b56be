"""Keras-like lazy layers (tests/zoo/styles/callable_layers.py), one bug each."""

import numpy as np

from ..styles import callable_layers


class DenseBiasGradMissing(callable_layers.Dense):
    def build(self, input_shape):
        super().build(input_shape)
        self.dkernel = np.zeros_like(self.kernel)
        self.dbias = np.zeros_like(self.bias)

    def backward(self, dy):
        self.dkernel = self.inputs.T @ dy
        # BUG: self.dbias = dy.sum(axis=0) is missing; dbias keeps the zeros of build()
        return dy @ self.kernel.T


class TanhSignFlipped(callable_layers.Tanh):
    def backward(self, dy):
        return dy * (np.square(self.outputs) - 1.0)  # BUG: sign flipped
