"""network2.py as a course's starter code rewrites it (afresh): the weights kept as ``weightsT``, in
network.py's shape (n_out, n_in) despite the name, and a step that takes its mini-batch as a pair of
lists, ``for x, y in zip(*mini_batch)``.

* ``Network``: the step divides by the number of examples, ``len(mini_batch[0])``;
* ``NetworkStepOverTwo`` (mutant): it divides by ``len(mini_batch)``, always 2 for a pair of lists.
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
