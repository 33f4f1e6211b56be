"""Correct parameter-free layers: ``forward(x)`` and ``backward(dout) -> dx``.

x has one example per column, shape (n, m).  ``forward`` keeps what
``backward`` needs; ``backward`` returns dC/dx given dout = dC/d(out) and
never writes into dout.  Only BatchNormLayer's constructor takes an argument,
the layer width n (torch-style); the others take none.
"""

import numpy as np


class SigmoidLayer:
    def forward(self, x):
        self.out = np.exp(-np.logaddexp(0.0, -x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)


class TanhLayer:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out ** 2)


class ReLULayerZero:
    """ReLU with the subgradient 0 at x = 0 (torch's and jax's choice)."""

    def forward(self, x):
        self.x = np.array(x, dtype=float)
        return np.maximum(self.x, 0.0)

    def backward(self, dout):
        return dout * (self.x > 0)


class ReLULayerOne:
    """ReLU with the subgradient 1 at x = 0: equally valid, differs only at 0."""

    def forward(self, x):
        self.x = np.array(x, dtype=float)
        return np.maximum(self.x, 0.0)

    def backward(self, dout):
        return dout * (self.x >= 0)


def _softmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


class SoftmaxJacobian:
    """Softmax over units (axis 0); backward builds J = diag(s) - s s^T per column."""

    def forward(self, x):
        self.s = _softmax(x)
        return self.s

    def backward(self, dout):
        dx = np.empty_like(self.s)
        for col in range(self.s.shape[1]):
            s = self.s[:, col]
            J = np.diag(s) - np.outer(s, s)  # J[i, k] = d s_i / d x_k
            dx[:, col] = J.T @ dout[:, col]
        return dx


class SoftmaxShortcut:
    """Softmax over units; backward J^T g = s * (g - s . g), without building J."""

    def forward(self, x):
        self.s = _softmax(x)
        return self.s

    def backward(self, dout):
        return self.s * (dout - np.sum(self.s * dout, axis=0, keepdims=True))


class BatchNormLayer:
    """u = (x - mean) / sqrt(var + eps) over the batch (axis 1), biased var, no scale/shift."""

    eps = 1e-5

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        if x.shape[0] != self.n:
            raise ValueError(f"BatchNormLayer({self.n}) got x of shape {x.shape}")
        centred = x - x.mean(axis=1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(np.mean(centred ** 2, axis=1, keepdims=True) + self.eps)
        self.u = centred * self.inv_std
        return self.u

    def backward(self, dout):
        # Through the mean and through the variance: both couple the examples.
        mean_g = dout.mean(axis=1, keepdims=True)
        mean_gu = np.mean(dout * self.u, axis=1, keepdims=True)
        return self.inv_std * (dout - mean_g - self.u * mean_gu)
