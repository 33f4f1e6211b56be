"""Backpropagation written with np.einsum for every contraction.

A correct zoo member (sigmoid, quadratic cost).  Index letters: i, j units,
m examples (columns).  Works for one column or a stacked mini-batch.
"""

import numpy as np

COST = "quadratic"


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # the same function, a different formula


def sigmoid_prime(z):
    return 0.25 / np.cosh(0.5 * np.clip(z, -700, 700)) ** 2  # sigma(1 - sigma) = 1/(4 cosh^2(z/2))


class Network:
    def __init__(self, sizes, seed=None):
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.num_layers = len(sizes)
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        self.weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]

    def _gradient_sum(self, x, y):
        activations, zs = [x], []
        for w, b in zip(self.weights, self.biases):
            zs.append(np.einsum("ij,jm->im", w, activations[-1]) + b)
            activations.append(sigmoid(zs[-1]))
        L = len(self.weights)
        nabla_b, nabla_w = [None] * L, [None] * L
        delta = np.einsum("im,im->im", activations[-1] - y, sigmoid_prime(zs[-1]))  # BP1
        for i in range(L - 1, -1, -1):
            nabla_b[i] = np.einsum("im->i", delta)[:, None]  # BP3, summed over examples
            nabla_w[i] = np.einsum("im,jm->ij", delta, activations[i])  # BP4
            if i:
                back = np.einsum("ji,jm->im", self.weights[i], delta)  # (w^T delta): BP2
                delta = np.einsum("im,im->im", back, sigmoid_prime(zs[i - 1]))
        return nabla_b, nabla_w

    def backprop(self, x, y):
        return self._gradient_sum(x, y)

    def update_mini_batch(self, mini_batch, eta):
        x = np.concatenate([x for x, _ in mini_batch], axis=1)
        y = np.concatenate([y for _, y in mini_batch], axis=1)
        nabla_b, nabla_w = self._gradient_sum(x, y)
        step = eta / len(mini_batch)
        self.weights = [w - step * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - step * nb for b, nb in zip(self.biases, nabla_b)]
