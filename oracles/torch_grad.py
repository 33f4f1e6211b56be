"""Oracle: the network rebuilt in PyTorch (float64), differentiated by torch.autograd."""

from __future__ import annotations

import contextlib

from gradcert.oracles.base import OracleGradient, as_float64, columns

NAME = "torch"


def available() -> bool:
    """Whether torch is installed, without importing it (that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _activation(torch, name, z, slope):
    functions = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, slope),
        # not torch.nn.functional.softplus: past its threshold (20) it returns z itself,
        # off by log1p(e^-z) ~ 2e-9 and with slope exactly 1 instead of sigmoid(z).
        "softplus": lambda t: torch.logaddexp(t, torch.zeros_like(t)),
        "linear": lambda t: t,
        "softmax": lambda t: torch.softmax(t, dim=0),  # over the units of each column
    }
    return functions[name](z)


def _cost(torch, arch, z, a, y):
    """Sum over units of C_x, one value per column.

    Where the output's logarithm has a closed form in z (sigmoid, softmax) the
    cost is computed from z: from a, ln(1 - a) is -inf once a rounds to 1,
    although the cost and its gradient are finite.
    """
    name, output = arch.cost, arch.activations[-1]
    plain = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1
    if name == "quadratic":
        return 0.5 * ((a - y) ** 2).sum(dim=0)
    if name == "cross-entropy":
        if plain and output == "sigmoid":
            F = torch.nn.functional
            return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).sum(dim=0)
        return -(torch.xlogy(y, a) + torch.xlogy(1 - y, 1 - a)).sum(dim=0)
    if plain and output == "softmax":  # log-likelihood
        return -(y * torch.log_softmax(z, dim=0)).sum(dim=0)
    return -torch.xlogy(y, a).sum(dim=0)


def cost_and_params(arch, weights, biases, x, y):
    """The batch cost as a torch scalar, and the leaf tensors it depends on."""
    import torch

    ws = [torch.tensor(w, requires_grad=True) for w in as_float64(weights)]
    bs = [torch.tensor(b, requires_grad=True) for b in as_float64(biases)]
    a = torch.tensor(columns(x))
    y = torch.tensor(columns(y))
    for layer, (w, b) in enumerate(zip(ws, bs)):
        z = w @ a + b
        if arch.batch_norm[layer]:
            mean = z.mean(dim=1, keepdim=True)
            var = z.var(dim=1, unbiased=False, keepdim=True)
            z = (z - mean) / torch.sqrt(var + arch.bn_epsilon)
        a = _activation(torch, arch.activations[layer], z, arch.leaky_slope)
        if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
            _, unit, name = arch.modified_neuron
            rows = [_activation(torch, name, z[j], arch.leaky_slope) if j == unit else a[j]
                    for j in range(a.shape[0])]
            a = torch.stack(rows)
    cost = _cost(torch, arch, z, a, y).mean()
    if arch.l2:
        cost = cost + 0.5 * arch.l2 * sum((w * w).sum() for w in ws)
    return cost, ws, bs


SINGLE_THREAD_BELOW = 100_000  # parameters


@contextlib.contextmanager
def threads_for(arch):
    """One intra-op thread for small networks: on 2 cores a 3x5 softmax costs ~10 ms with
    torch's default 2 threads and ~3 us with one.  The caller's setting is restored."""
    import torch

    before = torch.get_num_threads()
    if arch.n_parameters < SINGLE_THREAD_BELOW and before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def gradient(arch, weights, biases, x, y) -> OracleGradient:
    with threads_for(arch):
        cost, ws, bs = cost_and_params(arch, weights, biases, x, y)
        cost.backward()
    return OracleGradient.exact(NAME, [b.grad.numpy() for b in bs], [w.grad.numpy() for w in ws])
