"""The gradient as one function: ``grad(arch, weights, biases, x, y)``.

A correct zoo member of the "function" kind.  ``arch`` supplies ``sizes``,
``activations`` (one name per weight layer), ``cost``, ``l2`` and
``batch_norm`` (only all-False is supported).  Returned: the gradient of

    mean over the columns of x of C_x  +  (l2 / 2) * sum ||W||^2.

Backward steps are vector-Jacobian products, so softmax (not elementwise)
is handled; the canonical pairs (sigmoid/cross-entropy,
softmax/log-likelihood, linear/quadratic) take the exact shortcut for dC/dz^L.
"""

import numpy as np

LEAKY_SLOPE = 0.01


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


# name -> (forward, vjp(z, a, g) = J(z)^T g)
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z, a, g: g * a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a, g: g * (1.0 - a * a)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a, g: g * (z > 0)),
    "leaky_relu": (lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
                   lambda z, a, g: g * np.where(z > 0, 1.0, LEAKY_SLOPE)),
    "softplus": (lambda z: np.logaddexp(0.0, z), lambda z, a, g: g * _sigmoid(z)),
    "linear": (lambda z: z, lambda z, a, g: g),
    "softmax": (_softmax, lambda z, a, g: a * (g - np.sum(a * g, axis=0, keepdims=True))),
}


def _cost_gradient(cost, a, y):
    """dC_x/da, column by column."""
    if cost == "quadratic":
        return a - y
    if cost == "cross-entropy":
        return (a - y) / (a * (1.0 - a))
    if cost == "log-likelihood":
        return -y / a
    raise NotImplementedError(f"cost {cost!r}")


def _output_delta(cost, activation, z, a, y):
    """dC_x/dz^L, by the shortcut where the pair is canonical."""
    if (cost, activation) in (("quadratic", "linear"), ("cross-entropy", "sigmoid")):
        return a - y
    if (cost, activation) == ("log-likelihood", "softmax"):
        return a * y.sum(axis=0, keepdims=True) - y  # = a - y for a one-hot y
    return ACTIVATIONS[activation][1](z, a, _cost_gradient(cost, a, y))


def grad(arch, weights, biases, x, y):
    if any(getattr(arch, "batch_norm", ()) or ()):
        raise NotImplementedError("batch normalisation is not supported by functional_grad")
    if getattr(arch, "modified_neuron", None) is not None:
        raise NotImplementedError("a modified neuron is not supported by functional_grad")
    names = tuple(arch.activations)
    for name in names:
        if name not in ACTIVATIONS:
            raise NotImplementedError(f"activation {name!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x = x.reshape(-1, 1) if x.ndim == 1 else x
    y = y.reshape(-1, 1) if y.ndim == 1 else y
    m = x.shape[1]

    zs, activations = [], [x]
    for w, b, name in zip(weights, biases, names):
        zs.append(w @ activations[-1] + b)
        activations.append(ACTIVATIONS[name][0](zs[-1]))

    L = len(weights)
    nabla_b, nabla_w = [None] * L, [None] * L
    delta = _output_delta(arch.cost, names[-1], zs[-1], activations[-1], y) / m  # mean over columns
    for i in range(L - 1, -1, -1):
        nabla_b[i] = delta.sum(axis=1, keepdims=True)
        nabla_w[i] = delta @ activations[i].T + arch.l2 * weights[i]
        if i > 0:
            delta = ACTIVATIONS[names[i - 1]][1](zs[i - 1], activations[i], weights[i].T @ delta)
    return nabla_b, nabla_w
