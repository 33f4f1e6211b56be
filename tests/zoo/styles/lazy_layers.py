"""Lazily initialised dense layers keeping parameters/gradients/cache dicts.

In the conventions of UC Berkeley CS189/289A's numpy neural-network homework
(and numpy-ml's layers): ``FullyConnected(n_out, activation)`` knows only its
output width; the first ``forward(X)`` sees X's width, calls
``_init_parameters`` and creates ``parameters = {"W": (n_in, n_out), "b":
(1, n_out)}`` and matching zero ``gradients``; forward keeps Z and X in
``self.cache``; ``backward(dLdY)`` fills ``gradients`` and returns dLdX.
Batches are rows.  The activation is a small object with
``forward(Z)``/``backward(Z, dY)``.
"""

import numpy as np


class Linear:
    def forward(self, Z):
        return Z

    def backward(self, Z, dY):
        return dY


class ReLU:
    def forward(self, Z):
        return np.maximum(Z, 0)

    def backward(self, Z, dY):
        return dY * (Z > 0)


class Tanh:
    def forward(self, Z):
        return np.tanh(Z)

    def backward(self, Z, dY):
        return dY * (1 - np.tanh(Z) ** 2)


ACTIVATIONS = {"linear": Linear, "relu": ReLU, "tanh": Tanh}


class FullyConnected:
    def __init__(self, n_out, activation="linear", weight_init="he_normal"):
        self.n_in = None
        self.n_out = n_out
        self.activation = ACTIVATIONS[activation]()
        self.weight_init = weight_init
        self.parameters = {}
        self.cache = {}
        self.gradients = {}

    def _init_parameters(self, X_shape):
        self.n_in = X_shape[1]
        std = np.sqrt(2.0 / self.n_in) if self.weight_init == "he_normal" else 1.0
        W = np.random.normal(0.0, std, (self.n_in, self.n_out))
        b = np.random.normal(0.0, 0.1, (1, self.n_out))
        self.parameters = {"W": W, "b": b}
        self.cache = {"Z": [], "X": []}
        self.gradients = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def forward(self, X):
        if self.n_in is None:
            self._init_parameters(X.shape)
        W, b = self.parameters["W"], self.parameters["b"]
        Z = X @ W + b
        out = self.activation.forward(Z)
        self.cache["Z"], self.cache["X"] = Z, X
        return out

    def backward(self, dLdY):
        W = self.parameters["W"]
        X, Z = self.cache["X"], self.cache["Z"]
        dZ = self.activation.backward(Z, dLdY)
        self.gradients["W"] = X.T @ dZ
        self.gradients["b"] = dZ.sum(axis=0, keepdims=True)
        dX = dZ @ W.T
        return dX
