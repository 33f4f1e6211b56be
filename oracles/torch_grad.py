"""Oracle: the network rebuilt in PyTorch (float64), differentiated by torch's autograd.

``gradient`` runs reverse mode (``backward``) on the cost; ``slopes`` runs forward
mode (``torch.func.jvp``, vmapped over the directions) on the same cost: one torch
rebuild of the network serves both (``cost_function``), each layer's forward in
``_layer``.  Torch runs on one intra-op thread for small networks (``threads``).
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import numpy as np
from gradcert.oracles import activations, components
from gradcert.oracles.base import OracleGradient, Slopes, as_float64, columns
from gradcert.oracles.landscape import forward_mode_errors

NAME = "torch"
SINGLE_THREAD_BELOW = 100_000  # parameters


def available() -> bool:
    """Whether torch is installed, without importing it (that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


@contextlib.contextmanager
def threads(count=1):
    """torch with ``count`` intra-op threads inside the block, the caller's setting restored after.

    gradcert's networks are mostly small, and torch's thread pool costs more than it
    saves there: on a busy 2-core machine a 3x5 softmax took ~10 ms with torch's default
    2 threads and ~3 us with one; forward mode on [784, 30, 10] 86 ms against 8.6 ms.
    """
    import torch

    before = torch.get_num_threads()
    if before != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def threads_for(arch):
    """One thread for a network under SINGLE_THREAD_BELOW parameters; torch's own setting above."""
    return threads(1) if arch.n_parameters < SINGLE_THREAD_BELOW else contextlib.nullcontext()


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


def _layer(torch, arch, layer, a, w, b, constants):
    """One layer, columns of examples: (z after normalisation, a).  New components go here
    (``oracles.components``: maxout, layer norm, dropout, the residual connection)."""
    zero, epsilon = constants[3], constants[4]
    z = components.Maxout.torch(torch, arch, layer, w @ a + b)
    if arch.batch_norm[layer]:
        centred = z - z.mean(dim=1, keepdim=True)
        z = centred / torch.sqrt((centred * centred).mean(dim=1, keepdim=True) + epsilon)
    z = components.LayerNorm.torch(torch, arch, layer, z)
    out = activations.get(arch.activations[layer]).torch(torch, z, arch.leaky_slope, zero)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        own = activations.get(name).torch(torch, z[unit], arch.leaky_slope, zero)
        out = torch.stack([own if j == unit else out[j] for j in range(out.shape[0])])
    out = components.Dropout.torch(torch, arch, layer, out)
    return z, components.Residual.add(arch, layer, out, a)


def _example_costs(torch, arch, z, a, y, constants):
    """C_x summed over the units, one value per column.

    Where the output's logarithm has a closed form in z (sigmoid, softmax) the cost is
    computed from z: from a, ln(1 - a) is -inf once a rounds to 1, although the cost and
    its gradient are finite.
    """
    half, zero = constants[2], constants[3]
    output = arch.activations[-1]
    plain = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1
    if arch.cost == "quadratic":
        return ((a - y) * (a - y)).sum(dim=0) * half
    if arch.cost == "cross-entropy" and plain and output == "sigmoid":
        # -ln a = ln(1 + e^-z), -ln(1 - a) = ln(1 + e^z)
        return (y * torch.logaddexp(zero, -z) + (1 - y) * torch.logaddexp(zero, z)).sum(dim=0)
    if arch.cost == "cross-entropy":
        return -(torch.xlogy(y, a) + torch.xlogy(1 - y, 1 - a)).sum(dim=0)
    if plain and output == "softmax":  # log-likelihood
        return -(y * torch.log_softmax(z, dim=0)).sum(dim=0)
    return -torch.xlogy(y, a).sum(dim=0)


def cost_function(arch, x, y):
    """C(weights, biases, constants) in torch, and the constants: the batch, and every number
    the cost multiplies or adds, as tensors.

    Written for both of torch's modes.  Forward mode is slow in two ways reverse mode
    never meets: an operation between a tensor with a tangent and one without (or a
    Python number) takes a slow path that imports torch._dynamo on first use -- 1.5 s,
    then ~0.5 ms per operation: so the constants are arguments (forward mode gives them
    zero tangents); and softmax, logsigmoid and softplus have slow forward rules (8-11 ms
    a call on a 10 x 10 input): so the activations' torch forms avoid them
    (``oracles.activations``).
    """
    import torch

    number = functools.partial(torch.tensor, dtype=torch.float64)
    constants = [torch.from_numpy(columns(x)), torch.from_numpy(columns(y)), number(0.5), number(0.0),
                 number(arch.bn_epsilon), number(0.5 * arch.l2)]

    def cost(weights, biases, constants):
        x, y, decay = constants[0], constants[1], constants[5]
        a, z, penalty = x, None, 0.0
        for layer, b in enumerate(biases):
            z, a = _layer(torch, arch, layer, a, components.weights_of(arch, weights, layer), b, constants)
            penalty = penalty + components.Activity.torch(torch, arch, layer, a)
        total = (_example_costs(torch, arch, z, a, y, constants) + penalty).mean()
        if arch.l1 or arch.tied is not None:
            total = total + components.WeightPenalty.torch(torch, arch, weights)
        elif arch.l2:
            total = total + decay * torch.stack([(w * w).sum() for w in weights]).sum()
        return total

    return cost, constants


def gradient(arch, weights, biases, x, y) -> OracleGradient:
    """The batch cost's gradient by reverse mode."""
    import torch

    with threads_for(arch):
        cost, constants = cost_function(arch, x, y)
        ws = [torch.tensor(w, requires_grad=True) for w in as_float64(weights)]
        bs = [torch.tensor(b, requires_grad=True) for b in as_float64(biases)]
        cost(ws, bs, constants).backward()
    # A tensor the cost never reads (a tied layer's idle slot) has no .grad: its gradient is 0.
    nabla_w = [np.zeros(w.shape) if w.grad is None else w.grad.numpy() for w in ws]
    return OracleGradient.exact(NAME, [b.grad.numpy() for b in bs], nabla_w)


def slopes(arch, weights, biases, x, y, tangents, *, landscape=None, bound=None) -> Slopes:
    """dC/dtheta . d for every direction of ``tangents`` (``oracles.tangents``), by forward mode.

    Exact but for rounding, which ``errors`` bound (``oracles.landscape.forward_mode_errors``:
    the running bound of a forward mode that forms the injection D a as a plain product).
    """
    torch = _torch()
    cost, constants = cost_function(arch, x, y)
    # torch.tensor copies: the parameters may be read-only views of the caller's arrays.
    primals = ([torch.tensor(w) for w in as_float64(weights)], [torch.tensor(b) for b in as_float64(biases)],
               constants)
    still = [torch.zeros_like(c) for c in constants]
    jvp = torch.func.vmap(lambda tw, tb: torch.func.jvp(cost, primals, (tw, tb, still))[1])
    values = []
    # One thread whatever the size: these are small products (see ``threads``).
    with threads(1):
        for tangent_w, tangent_b in tangents.dense_chunks():
            out = jvp([torch.from_numpy(t) for t in tangent_w], [torch.from_numpy(t) for t in tangent_b])
            values.extend(float(v) for v in out)
    errors = forward_mode_errors(arch, weights, biases, x, y, tangents, landscape, bound)
    return Slopes(NAME, np.array(values), errors)
