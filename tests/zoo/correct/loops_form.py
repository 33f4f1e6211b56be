"""Backpropagation with plain Python loops over neurons and scalar arithmetic.

A correct zoo member (sigmoid via math.exp, quadratic cost).  Slow: meant for
small networks.  Every sum of BP2 and every product of BP4 is spelled out.
"""

import math

import numpy as np

COST = "quadratic"


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class Network:
    def __init__(self, sizes, seed=None):
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        self.weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]

    def backprop(self, x, y):
        sizes = [len(x)] + [w.shape[0] for w in self.weights]
        a = [[float(x[k][0]) for k in range(sizes[0])]]
        for w, b in zip(self.weights, self.biases):
            prev = a[-1]
            a.append([sigmoid(sum(float(w[j][k]) * prev[k] for k in range(len(prev))) + float(b[j][0]))
                      for j in range(len(w))])
        L = len(self.weights)
        nabla_b = [np.zeros((sizes[i + 1], 1)) for i in range(L)]
        nabla_w = [np.zeros((sizes[i + 1], sizes[i])) for i in range(L)]
        out = a[-1]
        # sigma'(z_j) = a_j (1 - a_j)
        delta = [(out[j] - float(y[j][0])) * out[j] * (1.0 - out[j]) for j in range(len(out))]
        for i in range(L - 1, -1, -1):
            for j in range(sizes[i + 1]):
                nabla_b[i][j][0] = delta[j]
                for k in range(sizes[i]):
                    nabla_w[i][j][k] = delta[j] * a[i][k]
            if i > 0:
                w = self.weights[i]
                delta = [sum(float(w[j][k]) * delta[j] for j in range(sizes[i + 1]))
                         * a[i][k] * (1.0 - a[i][k]) for k in range(sizes[i])]
        return nabla_b, nabla_w

    def update_mini_batch(self, mini_batch, eta):
        m = len(mini_batch)
        new_w = [np.array(w, dtype=float) for w in self.weights]
        new_b = [np.array(b, dtype=float) for b in self.biases]
        for x, y in mini_batch:
            nabla_b, nabla_w = self.backprop(x, y)
            for i in range(len(new_w)):
                for j in range(new_w[i].shape[0]):
                    new_b[i][j][0] -= eta / m * nabla_b[i][j][0]
                    for k in range(new_w[i].shape[1]):
                        new_w[i][j][k] -= eta / m * nabla_w[i][j][k]
        self.weights, self.biases = new_w, new_b
