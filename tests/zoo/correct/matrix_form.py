"""Fully matrix-based backpropagation: a whole mini-batch in one pass.

A correct zoo member (sigmoid, quadratic cost).  The examples of a mini-batch
are stacked as the columns of X, so each layer's z is W @ A + b for all of
them at once, and BP4 summed over the batch is the single product
delta @ A_prev.T.  ``backprop(x, y)`` is the same code with one column.
"""

import numpy as np

COST = "quadratic"


def sigmoid(z):
    # exp of a non-positive number only: no overflow warnings.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Network:
    def __init__(self, sizes, seed=None):
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        self.weights = [rng.standard_normal((n, k)) / np.sqrt(k)
                        for k, n in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, X):
        for w, b in zip(self.weights, self.biases):
            X = sigmoid(w @ X + b)
        return X

    def _summed_gradient(self, X, Y):
        """Gradient of sum over the columns of the per-example quadratic cost."""
        A = [X]
        for w, b in zip(self.weights, self.biases):
            A.append(sigmoid(w @ A[-1] + b))
        nabla_b, nabla_w = [None] * len(self.weights), [None] * len(self.weights)
        # sigma'(z) = a (1 - a) for the sigmoid, so z need not be kept.
        delta = (A[-1] - Y) * A[-1] * (1.0 - A[-1])
        for i in reversed(range(len(self.weights))):
            nabla_b[i] = delta.sum(axis=1, keepdims=True)
            nabla_w[i] = delta @ A[i].T
            if i > 0:
                delta = (self.weights[i].T @ delta) * A[i] * (1.0 - A[i])
        return nabla_b, nabla_w

    def backprop(self, x, y):
        return self._summed_gradient(x, y)

    def update_mini_batch(self, mini_batch, eta):
        X = np.hstack([x for x, _ in mini_batch])
        Y = np.hstack([y for _, y in mini_batch])
        nabla_b, nabla_w = self._summed_gradient(X, Y)
        m = X.shape[1]
        self.weights = [w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]
