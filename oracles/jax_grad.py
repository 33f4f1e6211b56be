"""Oracle: the network rebuilt in JAX with float64 enabled, differentiated by JAX.

``gradient`` is ``jax.grad`` of the cost, ``slopes`` its ``jax.jvp`` along each
direction (vmapped over them); both jitted once per architecture, both of the one
cost (``cost_function``), each layer's forward in ``_layer``.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
from gradcert.oracles import activations, components
from gradcert.oracles.base import OracleGradient, Slopes, as_float64, columns
from gradcert.oracles.landscape import forward_mode_errors

NAME = "jax"


def available() -> bool:
    """Whether jax is installed, without importing it (that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("jax") is not None


def _jax():
    import jax

    return jax


@contextlib.contextmanager
def x64():
    """JAX in float64 for the oracle's own computation, and the caller's setting put back after.

    Without the flag JAX silently computes in float32; it must be on before any array is made,
    and it is process-wide state the caller owns (a JAX user may want float32)."""
    jax = _jax()
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield jax
    finally:
        jax.config.update("jax_enable_x64", before)


def _cost(jax, arch, z, a, y):
    """Sum over units of C_x, one value per column; from z where the log has a closed form
    (see oracles.torch_grad._example_costs)."""
    xlogy = jax.scipy.special.xlogy
    name, output = arch.cost, arch.activations[-1]
    plain = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1
    if name == "quadratic":
        return 0.5 * ((a - y) ** 2).sum(axis=0)
    if name == "cross-entropy":
        if plain and output == "sigmoid":
            return -(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z)).sum(axis=0)
        return -(xlogy(y, a) + xlogy(1 - y, 1 - a)).sum(axis=0)
    if plain and output == "softmax":  # log-likelihood
        return -(y * jax.nn.log_softmax(z, axis=0)).sum(axis=0)
    return -xlogy(y, a).sum(axis=0)


def _layer(jax, arch, layer, a, w, b):
    """One layer, columns of examples: (z after normalisation, a).  New components go here
    (``oracles.components``: maxout, layer norm, dropout, the residual connection)."""
    jnp = jax.numpy
    z = components.Maxout.jax(jax, arch, layer, w @ a + b)
    if arch.batch_norm[layer]:
        centred = z - z.mean(axis=1, keepdims=True)
        z = centred / jnp.sqrt((centred**2).mean(axis=1, keepdims=True) + arch.bn_epsilon)
    z = components.LayerNorm.jax(jax, arch, layer, z)
    out = activations.get(arch.activations[layer]).jax(jax, z, arch.leaky_slope)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        out = out.at[unit].set(activations.get(name).jax(jax, z[unit], arch.leaky_slope))
    out = components.Dropout.jax(jax, arch, layer, out)
    return z, components.Residual.add(arch, layer, out, a)


def cost_function(arch):
    """C(params, x, y) in JAX, params = (weights, biases)."""
    jax = _jax()

    def cost(params, x, y):
        weights, biases = params
        a, z, penalty = x, None, 0.0
        for layer, b in enumerate(biases):
            z, a = _layer(jax, arch, layer, a, components.weights_of(arch, weights, layer), b)
            penalty = penalty + components.Activity.jax(jax, arch, layer, a)
        total = (_cost(jax, arch, z, a, y) + penalty).mean()
        if arch.l1 or arch.tied is not None:
            return total + components.WeightPenalty.jax(jax, arch, weights)
        return total + 0.5 * arch.l2 * sum((w * w).sum() for w in weights)

    return cost


@functools.lru_cache(maxsize=256)
def compiled_gradient(arch):
    """jax.jit(jax.grad(cost)) for one architecture, compiled once per input shape.

    Compiling the whole gradient costs about 0.2 s; running it eagerly costs
    ~3 s the first time a shape is met (every primitive is compiled alone).
    """
    jax = _jax()
    return jax.jit(jax.grad(cost_function(arch)))


def gradient(arch, weights, biases, x, y) -> OracleGradient:
    with x64() as jax:
        jnp = jax.numpy
        params = ([jnp.asarray(w) for w in as_float64(weights)], [jnp.asarray(b) for b in as_float64(biases)])
        nabla_w, nabla_b = compiled_gradient(arch)(params, jnp.asarray(columns(x)), jnp.asarray(columns(y)))
        return OracleGradient.exact(NAME, [np.asarray(t) for t in nabla_b], [np.asarray(t) for t in nabla_w])



@functools.lru_cache(maxsize=64)
def _compiled_jvp(arch):
    """jit(vmap(jvp)) of the cost, compiled once per architecture and shapes."""
    jax = _jax()
    cost = cost_function(arch)

    def slope(params, tangent, x, y):
        return jax.jvp(lambda p: cost(p, x, y), (params,), (tangent,))[1]

    return jax.jit(jax.vmap(slope, in_axes=(None, 0, None, None)))


def slopes(arch, weights, biases, x, y, tangents, *, landscape=None, bound=None) -> Slopes:
    """dC/dtheta . d for every direction of ``tangents``, by forward mode; ``errors`` bound its
    rounding (``oracles.landscape.forward_mode_errors``)."""
    with x64() as jax:
        jnp = jax.numpy
        params = ([jnp.asarray(w) for w in as_float64(weights)], [jnp.asarray(b) for b in as_float64(biases)])
        x_cols, y_cols = jnp.asarray(columns(x)), jnp.asarray(columns(y))
        values = []
        for tangent_w, tangent_b in tangents.dense_chunks():
            tangent = ([jnp.asarray(t) for t in tangent_w], [jnp.asarray(t) for t in tangent_b])
            values.extend(float(v) for v in _compiled_jvp(arch)(params, tangent, x_cols, y_cols))
    errors = forward_mode_errors(arch, weights, biases, x, y, tangents, landscape, bound)
    return Slopes(NAME, np.array(values), errors)
