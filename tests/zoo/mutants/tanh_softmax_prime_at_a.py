"""tests/zoo/styles/tanh_softmax_grad.py with tanh' taken at the activation: 1 - tanh(a)^2.

a = tanh(z) already, so the right factor is 1 - a^2; applying tanh once more
evaluates the derivative at a instead of at z.
"""

import numpy as np

from ..styles.tanh_softmax_grad import forward, output_delta


def grad(arch, weights, biases, x, y):
    activations = forward(weights, biases, x)
    delta = output_delta(arch.cost, activations[-1], y, x.shape[1])
    nabla_b, nabla_w = [None] * len(weights), [None] * len(weights)
    for i in reversed(range(len(weights))):
        nabla_b[i] = delta.sum(axis=1, keepdims=True)
        nabla_w[i] = delta @ activations[i].T + arch.l2 * weights[i]
        if i:
            delta = (weights[i].T @ delta) * (1 - np.tanh(activations[i]) ** 2)  # BUG: tanh'(a), not tanh'(z)
    return nabla_b, nabla_w
