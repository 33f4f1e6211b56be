"""``grad(arch, weights, biases, x, y)`` for one family only: tanh hidden layers and a
softmax output, as a user's classifier code hard-codes them.

The function reads ``arch.cost`` and ``arch.l2`` but not ``arch.activations``:
it is right only for the family it was written for, which the user declares
(``hidden_activation="tanh", output_activation="softmax"``).  Examples are
columns; the cost is the mean over them plus (l2 / 2) * sum ||W||^2.
"""

import numpy as np


def _softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def forward(weights, biases, x):
    """[x, a^1, ..., a^L]: tanh in every layer but the last, softmax in the last."""
    activations = [x]
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = w @ activations[-1] + b
        activations.append(_softmax(z) if i == len(weights) - 1 else np.tanh(z))
    return activations


def output_delta(cost, a, y, m):
    """dC/dz at the softmax output, one column per example, divided by m for the mean."""
    if cost == "log-likelihood":
        return (a * y.sum(axis=0) - y) / m
    if cost == "quadratic":
        g = a - y
    elif cost == "cross-entropy":
        g = (a - y) / (a * (1 - a))
    else:
        raise NotImplementedError(cost)
    return a * (g - (a * g).sum(axis=0)) / m


def grad(arch, weights, biases, x, y):
    if any(arch.batch_norm):
        raise NotImplementedError("no batch normalisation in this family")
    activations = forward(weights, biases, x)
    delta = output_delta(arch.cost, activations[-1], y, x.shape[1])
    nabla_b, nabla_w = [None] * len(weights), [None] * len(weights)
    for i in reversed(range(len(weights))):
        nabla_b[i] = delta.sum(axis=1, keepdims=True)
        nabla_w[i] = delta @ activations[i].T + arch.l2 * weights[i]
        if i:
            delta = (weights[i].T @ delta) * (1 - activations[i] ** 2)  # tanh'(z) = 1 - a^2
    return nabla_b, nabla_w
