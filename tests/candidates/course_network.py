"""network2.py as a course's starter code rewrites it (afresh): the weights kept as ``weightsT``, in
network.py's shape (n_out, n_in) despite the name, and a step that takes its mini-batch as a pair of
lists, ``for x, y in zip(*mini_batch)``.

* ``Network``: the step divides by the number of examples, ``len(mini_batch[0])``;
* ``NetworkStepOverTwo`` (mutant): it divides by ``len(mini_batch)``, always 2 for a pair of lists;
* ``RowsColumnBiases``: examples as rows beside biases kept as columns; ``...NoSigmaPrime`` (mutant);
* ``FlatVectors``: examples and biases as flat vectors, ``np.outer``; ``FlatVectorsBiasSign`` (mutant).
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weightsT = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]

    def _examples(self, mini_batch):
        return len(mini_batch[0])

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_wT = [np.zeros(w.shape) for w in self.weightsT]
        for x, y in zip(*mini_batch):
            delta_b, delta_wT = self.backprop(x, y)
            nabla_b = [n + d for n, d in zip(nabla_b, delta_b)]
            nabla_wT = [n + d for n, d in zip(nabla_wT, delta_wT)]
        m = self._examples(mini_batch)
        self.weightsT = [w - (eta / m) * n for w, n in zip(self.weightsT, nabla_wT)]
        self.biases = [b - (eta / m) * n for b, n in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        activations = [x]
        for b, w in zip(self.biases, self.weightsT):
            activations.append(sigmoid(w @ activations[-1] + b))
        delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1])
        nabla_b, nabla_wT = [None] * len(self.biases), [None] * len(self.weightsT)
        for k in range(len(self.weightsT) - 1, -1, -1):
            nabla_b[k], nabla_wT[k] = delta, delta @ activations[k].T
            delta = (self.weightsT[k].T @ delta) * activations[k] * (1 - activations[k])
        return nabla_b, nabla_wT


class NetworkStepOverTwo(Network):
    def _examples(self, mini_batch):
        return len(mini_batch)


class RowsColumnBiases:
    """Examples as rows, x (1, n_in), and the biases kept as network.py's columns, turned where used:
    z = a W^T + b^T, W (n_out, n_in); its methods under other names, backward_prop and update_weights."""

    sigma_prime = True

    def __init__(self, sizes):
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def update_weights(self, mini_batch, eta):
        grads = [self.backward_prop(x, y) for x, y in mini_batch]
        for k in range(len(self.weights)):
            self.biases[k] = self.biases[k] - eta / len(mini_batch) * sum(g[0][k] for g in grads)
            self.weights[k] = self.weights[k] - eta / len(mini_batch) * sum(g[1][k] for g in grads)

    def backward_prop(self, x, y):
        activations = [x]
        for b, w in zip(self.biases, self.weights):
            activations.append(sigmoid(activations[-1] @ w.T + b.T))
        delta = activations[-1] - y
        nabla_b, nabla_w = [None] * len(self.biases), [None] * len(self.weights)
        for k in range(len(self.weights) - 1, -1, -1):
            a = activations[k + 1]
            delta = delta * (a * (1 - a) if self.sigma_prime or k == len(self.weights) - 1 else 1.0)
            nabla_b[k], nabla_w[k] = delta.T, delta.T @ activations[k]
            delta = delta @ self.weights[k]
        return nabla_b, nabla_w


class RowsColumnBiasesNoSigmaPrime(RowsColumnBiases):  # mutant: BP2 without sigma'(z) in hidden layers
    sigma_prime = False


class FlatVectors:
    """Examples, biases and deltas as flat vectors, x (n_in,): z = W a + b, nabla_w = np.outer(delta, a)."""

    sign = 1.0

    def __init__(self, sizes):
        self.biases = [np.random.randn(y) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def backprop(self, x, y):
        activations = [x]
        for b, w in zip(self.biases, self.weights):
            activations.append(sigmoid(w @ activations[-1] + b))
        delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1])
        nabla_b, nabla_w = [None] * len(self.biases), [None] * len(self.weights)
        for k in range(len(self.weights) - 1, -1, -1):
            nabla_b[k], nabla_w[k] = self.sign * delta, np.outer(delta, activations[k])
            delta = (self.weights[k].T @ delta) * activations[k] * (1 - activations[k])
        return nabla_b, nabla_w


class FlatVectorsBiasSign(FlatVectors):  # mutant: every bias gradient's sign flipped
    sign = -1.0
