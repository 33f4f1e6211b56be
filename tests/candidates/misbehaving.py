"""Candidates that misbehave in every way gradcert must survive and name.

``Network`` is a small correct implementation of network.py's interface
(sigmoid, quadratic cost); each subclass breaks one rule.
"""

import time

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes):
        self.sizes = sizes
        self.weights = [np.zeros((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((n, 1)) for n in sizes[1:]]

    def backprop(self, x, y, dtype=np.float64):
        x, y = x.astype(dtype), y.astype(dtype)
        activation, activations, zs = x, [x], []
        for w, b in zip(self.weights, self.biases):
            w, b = w.astype(dtype), b.astype(dtype)
            zs.append(w @ activation + b)
            activation = sigmoid(zs[-1])
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        nabla_b, nabla_w = [None] * len(self.weights), [None] * len(self.weights)
        for i in reversed(range(len(self.weights))):
            nabla_b[i], nabla_w[i] = delta, delta @ activations[i].T
            if i:
                w = self.weights[i].astype(dtype)
                delta = (w.T @ delta) * sigmoid(zs[i - 1]) * (1 - sigmoid(zs[i - 1]))
        return nabla_b, nabla_w


class Raises(Network):
    def backprop(self, x, y):
        raise KeyError("layer 3")


class Hangs(Network):
    def backprop(self, x, y):
        while True:
            time.sleep(0.01)


class ReturnsNone(Network):
    def backprop(self, x, y):
        super().backprop(x, y)


class WrongShapes(Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return nabla_b, [w[:, :-1] if w.shape[1] > 1 else np.zeros((w.shape[0], 2)) for w in nabla_w]


class ReturnsNaN(Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        nabla_w[0] = nabla_w[0] * np.nan
        return nabla_b, nabla_w


class ReturnsComplex(Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return [b + 0j for b in nabla_b], nabla_w


class ReturnsIntegers(Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return [b.astype(int) for b in nabla_b], nabla_w


class WrongOrder(Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return nabla_w, nabla_b


class NestedLists(Network):
    """Correct values as plain nested lists: accepted."""

    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return [b.tolist() for b in nabla_b], [w.tolist() for w in nabla_w]


class Float32(Network):
    """Correct, computed in float32: certified at float32 precision."""

    def backprop(self, x, y):
        return super().backprop(x, y, dtype=np.float32)


class MutatesInput(Network):
    def backprop(self, x, y):
        result = super().backprop(x, y)
        x += 1.0
        return result


class MutatesWeights(Network):
    def backprop(self, x, y):
        result = super().backprop(x, y)
        self.weights[0] *= 0.5
        return result


class FlippedSign(Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return [-b for b in nabla_b], [-w for w in nabla_w]


class NotACandidate:
    """None of the three kinds."""

    size = 3


def grad_not_implemented(arch, weights, biases, x, y):
    raise NotImplementedError("only sigmoid")
