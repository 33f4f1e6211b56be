# Source: github.com/hao-wang/bfalgo, bfalgo/neural_network/network.py (a network.py port, examples as rows)
"""network.py with TensorFlow's shapes, (None, n): its port in hao-wang/bfalgo, in that port's conventions.

That repository carries no licence, so its file is not copied here: this is the same port written
afresh, keeping what gradcert must meet as written -- each W stored as (n_in, n_out) and each b as a
row (1, n_out); ``forward(a)`` reshaping its input to rows and computing ``a W + b``; ``backprop(x,
y)`` taking one example as a row (1, n_in) and y as a row (1, n_out), carrying delta as a column
through ``.T``s and returning ``(nabla_w, nabla_b)``, which only its own training loop, ``SGD(X, y,
test_X, test_y)`` over whole data sets, unpacks (``nb_w, nb_b = self.backprop(one_x, one_y)``);
sigma' taken from a, ``da_dz(a) = a (1 - a)``; the quadratic cost's ``loss_prime``.  The original
reshapes to MNIST's ``(-1, 784)``, so it is checked with ``--sizes 784,...``; here the width is
``sizes[0]``, so that gradcert's drawn sizes reach it.
"""

import numpy as np


def nl_func(z, kind="sigmoid"):
    if kind == "sigmoid":
        return 1.0 / (1 + np.exp(-z))
    if kind == "tanh":
        return np.tanh(z)
    return z


def da_dz(a):
    """sigma'(z) from a = sigma(z), elementwise."""
    return a * (1 - a)


class Network:
    def __init__(self, sizes, nl_kind="sigmoid"):
        self.epochs, self.batch_size, self.eta = 10, 50, 5.0
        self.sizes, self.nl_kind = sizes, nl_kind
        self.weights = [np.random.randn(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.random.randn(1, n) for n in sizes[1:]]

    def forward(self, a):
        """Every layer's output, rows of examples; outs[l] goes with weights[l-1], biases[l-1]."""
        a = a.reshape(-1, self.sizes[0])
        outs = [a]
        for w, b in zip(self.weights, self.biases):
            a = nl_func(np.dot(a, w) + b, kind=self.nl_kind)
            outs.append(a)
        return outs

    def backprop(self, x, y):
        outs = self.forward(x)
        delta = self.loss_prime(outs[-1], y) * da_dz(outs[-1]).T  # a column (n_L, 1)
        nabla_w = [np.dot(outs[-2].T, delta.T)]  # (n_{L-1}, n_L), as W is held
        nabla_b = [delta.T]  # a row, as b is held
        for layer in range(len(self.sizes) - 2, 0, -1):
            delta = np.dot(self.weights[layer], delta) * da_dz(outs[layer]).T
            nabla_w.insert(0, np.dot(outs[layer - 1].T, delta.T))
            nabla_b.insert(0, delta.T)
        return nabla_w, nabla_b

    def loss_prime(self, a_L, y):
        return (a_L - y).T

    def SGD(self, X, y, test_X, test_y):
        for epoch in range(self.epochs):
            order = np.random.permutation(len(X))
            for start in range(0, len(X) - self.batch_size + 1, self.batch_size):
                batch = order[start:start + self.batch_size]
                sum_w = [np.zeros(w.shape) for w in self.weights]
                sum_b = [np.zeros(b.shape) for b in self.biases]
                for one_x, one_y in zip(X[batch], y[batch]):
                    nb_w, nb_b = self.backprop(one_x, one_y)
                    sum_w = [s + self.eta / self.batch_size * g for s, g in zip(sum_w, nb_w)]
                    sum_b = [s + self.eta / self.batch_size * g for s, g in zip(sum_b, nb_b)]
                self.weights = [w - s for w, s in zip(self.weights, sum_w)]
                self.biases = [b - s for b, s in zip(self.biases, sum_b)]
            self.evaluate(test_X, test_y, f"epoch {epoch + 1}")

    def evaluate(self, X, y, label):
        guesses = np.argmax(self.forward(X)[-1], axis=1)
        print(f"{label}: accuracy {np.mean(guesses == np.argmax(y, axis=1)):.3f}")
