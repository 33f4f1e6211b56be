"""``grad(arch, weights, biases, x, y)`` with batch normalisation where ``arch.batch_norm`` says.

Where a layer's flag is set, its weighted input z is normalised per unit over
the batch (the columns), u = (z - mean) / sqrt(var + arch.bn_epsilon) with
the biased variance and no learned scale or shift, and the activation is
applied to u.  Costs: quadratic, cross-entropy, log-likelihood; activations:
all of gradcert's names (arch.leaky_slope for leaky_relu), softmax included.
The batch's cost is the mean over its columns plus (l2 / 2) * sum ||W||^2.

Written as one backward loop of vector-Jacobian products: dC/da -> dC/du
(the activation) -> dC/dz (the normalisation, whose mean terms couple the
examples) -> nabla_b, nabla_w and dC/da of the layer below.
"""

import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _forward(name, u, slope):
    if name == "sigmoid":
        return _sigmoid(u)
    if name == "tanh":
        return np.tanh(u)
    if name == "relu":
        return np.where(u > 0, u, 0.0)
    if name == "leaky_relu":
        return np.where(u > 0, u, slope * u)
    if name == "softplus":
        return np.logaddexp(0.0, u)
    if name == "linear":
        return u
    if name == "softmax":
        e = np.exp(u - u.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    raise NotImplementedError(name)


def _backward(name, u, a, g, slope):
    """dC/du from g = dC/da."""
    if name == "softmax":
        return a * (g - np.sum(a * g, axis=0, keepdims=True))
    if name == "sigmoid":
        return g * a * (1.0 - a)
    if name == "tanh":
        return g * (1.0 - a * a)
    if name == "relu":
        return g * (u > 0)
    if name == "leaky_relu":
        return g * np.where(u > 0, 1.0, slope)
    if name == "softplus":
        return g * _sigmoid(u)
    return g  # linear


def _cost_gradient(cost, a, y):
    if cost == "quadratic":
        return a - y
    if cost == "cross-entropy":
        return (a - y) / (a * (1.0 - a))
    if cost == "log-likelihood":
        return -y / a
    raise NotImplementedError(cost)


def forward(arch, weights, biases, x):
    """The output activations and, per layer, (input a, u, inv_std or None, activation name)."""
    a, layers = x, []
    for w, b, name, bn in zip(weights, biases, arch.activations, arch.batch_norm):
        z = w @ a + b
        if bn:
            centred = z - z.mean(axis=1, keepdims=True)
            inv_std = 1.0 / np.sqrt((centred ** 2).mean(axis=1, keepdims=True) + arch.bn_epsilon)
            u = centred * inv_std
        else:
            inv_std, u = None, z
        layers.append((a, u, inv_std, name))
        a = _forward(name, u, arch.leaky_slope)
    return a, layers


def grad(arch, weights, biases, x, y):
    if getattr(arch, "modified_neuron", None) is not None:
        raise NotImplementedError("a modified neuron")
    a, layers = forward(arch, weights, biases, x)
    g = _cost_gradient(arch.cost, a, y) / x.shape[1]  # dC/da^L for the mean over the batch
    nabla_b, nabla_w = [None] * len(weights), [None] * len(weights)
    for i in reversed(range(len(weights))):
        a_in, u, inv_std, name = layers[i]
        delta = _backward(name, u, _forward(name, u, arch.leaky_slope), g, arch.leaky_slope)  # dC/du
        if inv_std is not None:
            delta = inv_std * (delta - delta.mean(axis=1, keepdims=True)
                               - u * (delta * u).mean(axis=1, keepdims=True))  # dC/dz
        nabla_b[i] = delta.sum(axis=1, keepdims=True)
        nabla_w[i] = delta @ a_in.T + arch.l2 * weights[i]
        g = weights[i].T @ delta
    return nabla_b, nabla_w
