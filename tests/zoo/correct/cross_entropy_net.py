"""A sigmoid network for the cross-entropy cost, C = -sum[y ln a + (1-y) ln(1-a)].

A correct zoo member.  With sigmoid outputs, dC/dz^L = a - y exactly: the
sigma'(z^L) of BP1 cancels against the 1/(a(1-a)) of dC/da, so it is never
computed.  Hidden layers follow BP2 as usual.
"""

import numpy as np

COST = "cross-entropy"


def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


class Network:
    def __init__(self, sizes, seed=None):
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        self.weights = [rng.standard_normal((n, k)) / np.sqrt(k)
                        for k, n in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(w @ a + b)
        return a

    def backprop(self, x, y):
        activations = [x]
        for w, b in zip(self.weights, self.biases):
            activations.append(sigmoid(w @ activations[-1] + b))
        nabla_b, nabla_w = [], []
        delta = activations[-1] - y  # BP1 for cross-entropy with sigmoid outputs
        for w, a_prev in zip(reversed(self.weights), reversed(activations[:-1])):
            nabla_b.insert(0, delta)
            nabla_w.insert(0, delta @ a_prev.T)
            delta = (w.T @ delta) * a_prev * (1.0 - a_prev)  # BP2; unused after the first layer
        return nabla_b, nabla_w

    def update_mini_batch(self, mini_batch, eta):
        grads = [self.backprop(x, y) for x, y in mini_batch]
        m = len(mini_batch)
        # New lists, so a list the caller assigned to net.weights is left as it was.
        self.weights = [w - eta / m * sum(g[1][i] for g in grads) for i, w in enumerate(self.weights)]
        self.biases = [b - eta / m * sum(g[0][i] for g in grads) for i, b in enumerate(self.biases)]
