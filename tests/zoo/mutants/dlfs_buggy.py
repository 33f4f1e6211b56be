"""Deep-Learning-from-Scratch-style layers, each with one bug in backward.

Each class overrides only ``backward`` of its correct sibling in
tests/zoo/styles/dlfs_layers.py.
"""

import numpy as np

from ..styles import dlfs_layers


class ReluMaskIgnored(dlfs_layers.Relu):
    def backward(self, dout):
        dx = dout.copy()  # BUG: dx[self.mask] = 0 is missing
        return dx


class DropoutMaskIgnored(dlfs_layers.Dropout):
    def backward(self, dout):
        return dout  # BUG: dout * self.mask


class AffineTransposedDW(dlfs_layers.Affine):
    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(dout.T, self.x)  # BUG: transposed; same shape only when W is square
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class AffineDbMissing(dlfs_layers.Affine):
    def __init__(self, input_size, output_size, weight_init_std=0.01):
        super().__init__(input_size, output_size, weight_init_std)
        self.db = np.zeros_like(self.b)

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        # BUG: self.db = np.sum(dout, axis=0) is missing; db keeps its zeros
        return dx.reshape(*self.original_x_shape)
