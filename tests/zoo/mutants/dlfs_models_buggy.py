"""Mutants of tests/zoo/styles/dlfs_models.py, one bug each."""

import numpy as np

from ..styles import dlfs_models


class SoftmaxWithLossSummed(dlfs_models.SoftmaxWithLoss):
    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(batch_size), self.t] -= 1
        return dx  # BUG: not divided by batch_size, though the loss is the batch's mean


class TwoLayerNetLossSummed(dlfs_models.TwoLayerNet):
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        super().__init__(input_size, hidden_size, output_size, weight_init_std)
        self.lastLayer = SoftmaxWithLossSummed()


class MultiLayerNetDecayForgotten(dlfs_models.MultiLayerNet):
    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for i in range(1, self.depth + 1):
            affine = self.layers[f'Affine{i}']
            grads[f'W{i}'] = affine.dW  # BUG: the loss's 0.5 lambda sum W^2 has no lambda W here
            grads[f'b{i}'] = affine.db
        return grads
