"""tests/zoo/styles/batchnorm_grad.py with the normalisation's backward missing its mean terms.

Only the normalisation's backward differs: dC/dz = inv_std * dC/du, as if the
batch mean and variance were constants.  Shows only where a batch-norm flag is
set and the batch has m >= 2 columns.
"""

from ..styles.batchnorm_grad import _backward, _cost_gradient, _forward, forward


def grad(arch, weights, biases, x, y):
    a, layers = forward(arch, weights, biases, x)
    g = _cost_gradient(arch.cost, a, y) / x.shape[1]
    nabla_b, nabla_w = [None] * len(weights), [None] * len(weights)
    for i in reversed(range(len(weights))):
        a_in, u, inv_std, name = layers[i]
        delta = _backward(name, u, _forward(name, u, arch.leaky_slope), g, arch.leaky_slope)
        if inv_std is not None:
            delta = inv_std * delta  # BUG: the terms through the batch mean and variance are missing
        nabla_b[i] = delta.sum(axis=1, keepdims=True)
        nabla_w[i] = delta @ a_in.T + arch.l2 * weights[i]
        g = weights[i].T @ delta
    return nabla_b, nabla_w
