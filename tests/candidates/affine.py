"""Layers with parameters, in the two conventions gradcert reads: W/dW attributes and params/grads dicts."""

import numpy as np


class Affine:
    """out = W x + b, columns as examples; dW and db set by backward."""

    def __init__(self, n):
        rng = np.random.default_rng(n)
        self.W = rng.standard_normal((n, n)) / np.sqrt(n)
        self.b = rng.standard_normal((n, 1))

    def forward(self, x):
        self.x = x
        return self.W @ x + self.b

    def backward(self, dout):
        self.dW = dout @ self.x.T
        self.db = dout.sum(axis=1, keepdims=True)
        return self.W.T @ dout


class AffineDict:
    """The same, keeping parameters in ``params`` and their gradients in ``grads``."""

    def __init__(self, n):
        rng = np.random.default_rng(n)
        self.params = {"W": rng.standard_normal((n, n)) / np.sqrt(n), "b": rng.standard_normal((n, 1))}
        self.grads = {}

    def forward(self, x):
        self.x = x
        return self.params["W"] @ x + self.params["b"]

    def backward(self, dout):
        self.grads = {"W": dout @ self.x.T, "b": dout.sum(axis=1, keepdims=True)}
        return self.params["W"].T @ dout


class AffineBiasBug(Affine):
    """db as a mean over the batch instead of a sum: wrong for m >= 2."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.mean(axis=1, keepdims=True)
        return dx


class AffineTransposedW(AffineDict):
    """grads["W"] transposed: wrong unless W's gradient happens to be symmetric."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"].T
        return dx
