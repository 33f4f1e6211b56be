"""Forward-mode oracles for the directional mode: dC/dtheta . d by torch or JAX.

``slopes("torch", ...)`` runs ``torch.func.jvp`` on a torch rebuild of the cost,
vmapped over the directions; ``slopes("jax", ...)`` runs ``jax.jvp`` on the JAX
oracle's cost, jitted once per architecture.  Both take the directions densely,
in chunks whose stacked tangents fit TANGENT_BUDGET_BYTES.  The default oracle of
the directional mode is the complex step (``properties.landscape``), which needs
neither framework; these are the independent cross-checks, chosen with
``oracle="torch"`` or ``"jax"``.  Nothing here imports the reference's math.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from gradcert.oracles.base import columns

TANGENT_BUDGET_BYTES = 256 * 2**20  # stacked tangents of the directions vmapped together


def slopes(name, arch, theta, x, y, directions):
    """dC/dtheta . d for every direction, by ``name``'s forward mode ("torch" or "jax")."""
    return {"torch": _torch_slopes, "jax": _jax_slopes}[name](arch, theta, x, y, directions)


def _torch():
    import torch

    # Forward mode loads torch's own decompositions on first use and scripts them with
    # torch.jit.script, which torch 2.10+ deprecates: a warning by torch about torch,
    # silenced for that one import (a test run makes every warning an error).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated",
                                category=DeprecationWarning)
        import torch._decomp.decompositions_for_jvp  # noqa: F401
    return torch


def _tangent_chunks(drawn):
    """The directions, densely, in groups whose stacked tangents fit TANGENT_BUDGET_BYTES:
    per group, (weight tangents, bias tangents), each of shape (directions, *tensor shape)."""
    n = sum(math.prod(shape) for shape in drawn.shapes)
    size = max(1, TANGENT_BUDGET_BYTES // (8 * n))
    for start in range(0, len(drawn.labels), size):
        ks = range(start, min(start + size, len(drawn.labels)))
        stacked = [np.zeros((len(ks), *shape)) for shape in drawn.shapes]
        for row, k in enumerate(ks):
            for i, entries in enumerate(drawn.direction(k).tensors_list):
                if entries is not None:
                    stacked[i][row] = entries
        yield stacked[1::2], stacked[0::2]


def _torch_slopes(arch, theta, x, y, drawn):
    """dC/dtheta . d for every d, by torch forward-mode AD (``torch.func.jvp``, vmapped over
    the directions) on a torch rebuild of the cost."""
    torch = _torch()
    cost, constants = torch_cost(arch, x, y)
    # torch.tensor copies: theta may be read-only views of the caller's arrays.
    primals = ([torch.tensor(w) for w in theta.weights], [torch.tensor(b) for b in theta.biases],
               constants)
    still = [torch.zeros_like(c) for c in constants]
    slopes = torch.func.vmap(lambda tw, tb: torch.func.jvp(cost, primals, (tw, tb, still))[1])
    values = []
    # One thread: these are small products, whose threads spend more time waiting for
    # each other than computing -- ten times more on a busy two-core machine (measured
    # for [784, 30, 10]: 8.6 ms with one thread, 86 ms with two).  Restored afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for tangent_w, tangent_b in _tangent_chunks(drawn):
            out = slopes([torch.from_numpy(t) for t in tangent_w], [torch.from_numpy(t) for t in tangent_b])
            values.extend(float(v) for v in out)
    finally:
        torch.set_num_threads(threads)
    return values


def torch_cost(arch, x, y):
    """C(weights, biases, constants) in torch, from the architecture, and the constants:
    the batch, and every number the cost multiplies or adds, as tensors.

    Written for torch's forward mode, which is slow in two ways the reverse-mode
    oracle (``oracles.torch_grad``, whose formulas these follow) never meets:

    * an operation between a tensor with a tangent and one without (or a Python
      number) takes a slow path that imports torch._dynamo on first use -- 1.5 s,
      then ~0.5 ms per operation: so the constants are arguments, given zero tangents;
    * softmax, logsigmoid and softplus have slow forward rules (8-11 ms a call on
      a 10 x 10 input): so exp(log_softmax), and logaddexp with 0 instead.

    As in the torch oracle, the log-based costs are taken from z where the output
    allows it: ln(1 - a) is -inf once a rounds to 1, though cost and gradient are finite.
    """
    import torch

    number = functools.partial(torch.tensor, dtype=torch.float64)
    constants = [torch.from_numpy(columns(x)), torch.from_numpy(columns(y)), number(0.5), number(0.0),
                 number(arch.bn_epsilon), number(0.5 * arch.l2)]
    plain_output = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1

    def activation(name, z, zero):
        if name == "sigmoid":
            return torch.sigmoid(z)
        if name == "tanh":
            return torch.tanh(z)
        if name == "relu":
            return torch.relu(z)
        if name == "leaky_relu":
            return torch.nn.functional.leaky_relu(z, arch.leaky_slope)
        if name == "softplus":
            return torch.logaddexp(z, zero)
        if name == "softmax":
            return torch.exp(torch.log_softmax(z, dim=0))  # over the units of each column
        return z  # linear

    def cost(weights, biases, constants):
        x, y, half, zero, epsilon, decay = constants
        a = x
        for layer, (w, b) in enumerate(zip(weights, biases)):
            z = w @ a + b
            if arch.batch_norm[layer]:
                centred = z - z.mean(dim=1, keepdim=True)
                z = centred / torch.sqrt((centred * centred).mean(dim=1, keepdim=True) + epsilon)
            a = activation(arch.activations[layer], z, zero)
            if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
                _, unit, name = arch.modified_neuron
                a = torch.stack([activation(name, z[j], zero) if j == unit else a[j]
                                 for j in range(a.shape[0])])
        output = arch.activations[-1]
        if arch.cost == "quadratic":
            per_example = ((a - y) * (a - y)).sum(dim=0) * half
        elif arch.cost == "cross-entropy" and plain_output and output == "sigmoid":
            # -ln a = ln(1 + e^-z), -ln(1 - a) = ln(1 + e^z)
            per_example = (y * torch.logaddexp(zero, -z) + (1 - y) * torch.logaddexp(zero, z)).sum(dim=0)
        elif arch.cost == "cross-entropy":
            per_example = -(torch.xlogy(y, a) + torch.xlogy(1 - y, 1 - a)).sum(dim=0)
        elif plain_output and output == "softmax":  # log-likelihood
            per_example = -(y * torch.log_softmax(z, dim=0)).sum(dim=0)
        else:
            per_example = -torch.xlogy(y, a).sum(dim=0)
        total = per_example.mean()
        if arch.l2:
            total = total + decay * torch.stack([(w * w).sum() for w in weights]).sum()
        return total

    return cost, constants


@functools.lru_cache(maxsize=64)
def _jax_jvp(arch):
    """jit(vmap(jvp)) of the JAX oracle's cost, compiled once per architecture and shapes."""
    from gradcert.oracles import jax_grad

    jax = jax_grad._jax()
    cost = jax_grad.cost_function(arch)

    def slope(params, tangent, x, y):
        return jax.jvp(lambda p: cost(p, x, y), (params,), (tangent,))[1]

    return jax.jit(jax.vmap(slope, in_axes=(None, 0, None, None)))


def _jax_slopes(arch, theta, x, y, drawn):
    """dC/dtheta . d for every d, by JAX forward-mode AD (``jax.jvp``) on the JAX oracle's cost."""
    from gradcert.oracles import jax_grad

    jnp = jax_grad._jax().numpy
    params = ([jnp.asarray(w) for w in theta.weights], [jnp.asarray(b) for b in theta.biases])
    x, y = jnp.asarray(columns(x)), jnp.asarray(columns(y))
    values = []
    for tangent_w, tangent_b in _tangent_chunks(drawn):
        tangent = ([jnp.asarray(t) for t in tangent_w], [jnp.asarray(t) for t in tangent_b])
        values.extend(float(v) for v in _jax_jvp(arch)(params, tangent, x, y))
    return values
