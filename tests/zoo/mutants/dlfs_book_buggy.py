"""The book-built Deep Learning from Scratch layers, each with one bug in backward.

Each class overrides only ``backward`` of its correct sibling in
tests/zoo/styles/dlfs_book_layers.py (AffineFirstBatchCached its ``forward``).
"""

import numpy as np

from ..styles import dlfs_book_layers


class AffineDWAveraged(dlfs_book_layers.Affine):
    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout) / self.x.shape[0]  # BUG: the batch's sum divided by N
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class BatchNormDGammaSignFlipped(dlfs_book_layers.BatchNormalization):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dgamma = -np.sum(self.xn * dout, axis=0)  # BUG: the sign of dgamma
        return dx


class SoftmaxWithLossNotAveraged(dlfs_book_layers.SoftmaxWithLoss):
    def backward(self, dout=1):
        dx = self.y.copy()
        dx[np.arange(self.t.shape[0]), self.t] -= 1
        return dx  # BUG: the loss is a mean over the batch, its gradient is not divided by N


class AffineFirstBatchCached(dlfs_book_layers.Affine):
    """Overrides ``forward`` too: its bug is the cache backward reads."""

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        if self.x is None:  # BUG: caches the first batch it ever sees, and keeps it
            self.x = x
        return np.dot(x, self.W) + self.b
