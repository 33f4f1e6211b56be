"""Layers named forward_pass / backward_pass, parameters in params/grads dicts.

A convention of small numpy frameworks written for courses (row-major batches,
(N, D)): ``forward_pass(X)`` caches its input, ``backward_pass(dY)`` fills
``self.grads`` and returns dX.  ``Linear`` keys its gradients like its
parameters (``params["W"]`` / ``grads["W"]``); ``Affine`` keys them the cs231n
way (``params["W"]`` / ``grads["dW"]``).  Activations keep nothing but their
input.
"""

import numpy as np


class Linear:
    def __init__(self, n_in, n_out, seed=None):
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out)),
                       "b": np.zeros(n_out)}
        self.grads = {"W": np.zeros((n_in, n_out)), "b": np.zeros(n_out)}
        self.X = None

    def forward_pass(self, X):
        self.X = X
        return X @ self.params["W"] + self.params["b"]

    def backward_pass(self, dY):
        self.grads["W"] = self.X.T @ dY
        self.grads["b"] = dY.sum(axis=0)
        return dY @ self.params["W"].T


class Affine:
    def __init__(self, n_in, n_out):
        self.params = {"W": np.random.randn(n_in, n_out) / np.sqrt(n_in), "b": np.random.randn(n_out)}
        self.grads = {"dW": None, "db": None}
        self.cache = None

    def forward_pass(self, X):
        self.cache = X
        return np.einsum("nd,dm->nm", X, self.params["W"]) + self.params["b"]

    def backward_pass(self, dY):
        X = self.cache
        self.grads["dW"] = np.einsum("nd,nm->dm", X, dY)
        self.grads["db"] = np.einsum("nm->m", dY)
        return np.einsum("nm,dm->nd", dY, self.params["W"])


class ReLU:
    def forward_pass(self, X):
        self.X = X
        return np.where(X > 0, X, 0.0)

    def backward_pass(self, dY):
        return np.where(self.X > 0, dY, 0.0)


class LeakyReLU:
    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward_pass(self, X):
        self.X = X
        return np.where(X > 0, X, self.alpha * X)

    def backward_pass(self, dY):
        return dY * np.where(self.X > 0, 1.0, self.alpha)


class Tanh:
    def forward_pass(self, X):
        self.Y = np.tanh(X)
        return self.Y

    def backward_pass(self, dY):
        return dY * (1.0 - self.Y ** 2)
