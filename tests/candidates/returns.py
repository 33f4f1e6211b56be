"""What a backward returns beside dx, as the field writes it, and each one's mutant.

* A layer whose backward returns its parameters' gradients first, (dW, db, dx) or, as a Deep
  Learning from Scratch batch-norm study does, (dgamma, dbeta, dx): dx is the entry of the
  input's shape, the others are matched to the parameters by shape; two of one shape (dgamma,
  dbeta) are which-is-which only by their order: exit 2 unless --params names them.
* A function pair whose backward returns more values than inputs: the first ones, of the inputs'
  shapes, are judged; where they do not have them, exit 2.
"""

import numpy as np


class AffineGradsFirst:
    """x W + b, rows as examples; backward returns (dW, db, dx)."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        return self.x.T @ dout, dout.sum(axis=0), dout @ self.W.T


class AffineGradsFirstDbMean(AffineGradsFirst):  # mutant: db a mean over the batch
    def backward(self, dout):
        return self.x.T @ dout, dout.mean(axis=0), dout @ self.W.T


class BatchNormGradsFirst:
    """Batch normalisation over rows; backward returns (dgamma, dbeta, dx)."""

    def __init__(self, gamma, beta, eps):
        self.gamma, self.beta, self.eps = gamma, beta, eps

    def forward(self, x):
        self.xmu = x - x.mean(axis=0)
        self.ivar = 1.0 / np.sqrt((self.xmu**2).mean(axis=0) + self.eps)
        self.xhat = self.xmu * self.ivar
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        dxhat = dout * self.gamma
        dx = (n * dxhat - dxhat.sum(axis=0) - self.xhat * (dxhat * self.xhat).sum(axis=0)) * self.ivar / n
        return np.sum(dout * self.xhat, axis=0), dout.sum(axis=0), dx


class BatchNormGradsFirstNoMean(BatchNormGradsFirst):  # mutant: dx without its mean terms
    def backward(self, dout):
        dgamma, dbeta, _ = super().backward(dout)
        return dgamma, dbeta, dout * self.gamma * self.ivar


# A cs231n function pair whose backward returns one value more than its forward has inputs
# (batchnorm_backward's dx, dgamma, dbeta and an intermediate dx beside them): judged on the first
# three, which have the inputs' shapes; (dgamma, dbeta, dx, ...) does not say which is whose: exit 2.
def bnextra_forward(x, gamma, beta):
    xmu = x - x.mean(axis=0)
    ivar = 1.0 / np.sqrt((xmu**2).mean(axis=0) + 1e-5)
    xhat = xmu * ivar
    return gamma * xhat + beta, (xhat, gamma, ivar)


def bnextra_backward(dout, cache):
    xhat, gamma, ivar = cache
    n = dout.shape[0]
    dxhat = dout * gamma
    dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) * ivar / n
    return dx, np.sum(dout * xhat, axis=0), dout.sum(axis=0), dxhat * ivar


bnextranomean_forward = bnextra_forward


def bnextranomean_backward(dout, cache):  # mutant: dx without its mean terms
    dx, dgamma, dbeta, dx1 = bnextra_backward(dout, cache)
    return dx1, dgamma, dbeta, dx


bnreordered_forward = bnextra_forward


def bnreordered_backward(dout, cache):
    dx, dgamma, dbeta, dx1 = bnextra_backward(dout, cache)
    return dgamma, dbeta, dx, dx1
