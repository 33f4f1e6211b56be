"""network.py's weights and biases kept in other containers than lists, as ports keep them (afresh).

* ``ObjectArrays``: a 1-D object array of arrays (``np.empty(L, dtype=object)`` filled per layer), its
  step's arithmetic on the whole container (``self.weights - eta * nabla_w``), which a Python list
  assigned in its place breaks;
* ``ObjectArraysBP2Sign`` (mutant): the hidden layers' delta with its sign flipped.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def _object_array(items):
    held = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        held[i] = item
    return held


class ObjectArrays:
    sign = 1.0

    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.biases = _object_array([np.random.randn(y, 1) for y in sizes[1:]])
        self.weights = _object_array([np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])])

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = self.biases * 0.0
        nabla_w = self.weights * 0.0
        for x, y in mini_batch:
            delta_b, delta_w = self.backprop(x, y)
            nabla_b = nabla_b + delta_b
            nabla_w = nabla_w + delta_w
        self.weights = self.weights - (eta / len(mini_batch)) * nabla_w
        self.biases = self.biases - (eta / len(mini_batch)) * nabla_b

    def backprop(self, x, y):
        nabla_b, nabla_w = self.biases * 0.0, self.weights * 0.0
        activations, zs = [x], []
        for b, w in zip(self.biases, self.weights):
            zs.append(np.dot(w, activations[-1]) + b)
            activations.append(sigmoid(zs[-1]))
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1], nabla_w[-1] = delta, np.dot(delta, activations[-2].T)
        for k in range(2, self.num_layers):
            delta = self.sign * np.dot(self.weights[-k + 1].T, delta) * sigmoid_prime(zs[-k])
            nabla_b[-k], nabla_w[-k] = delta, np.dot(delta, activations[-k - 1].T)
        return nabla_b, nabla_w


class ObjectArraysBP2Sign(ObjectArrays):
    sign = -1.0
