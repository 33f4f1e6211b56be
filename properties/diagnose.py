"""Say *what* is wrong with a gradient that disagrees: an equation and a known signature.

Two questions, asked of the first tensor that disagrees:

* Which of BP1-BP4 fails?  A network's own ``nabla_b[l]`` is its delta^l (BP3),
  so each equation can be checked layer by layer, from the output down,
  against the candidate's *own* delta of the layer above:
  BP1  delta^L   = nabla_a C (.) sigma'(z^L)       (the true output error)
  BP2  delta^l   = J_sigma(z^l)^T (w^{l+1})^T delta^{l+1}_candidate
  BP3  nabla_b^l = delta^l   (delta recovered from nabla_w^l = delta^l (a^{l-1})^T)
  BP4  nabla_w^l = delta^l (a^{l-1})^T
  (single examples without batch normalisation or L2, where the equations are exact).

* Does a classic bug explain it?  Each signature is an inverse transformation
  (flip the sign, transpose, divide by m, multiply by sigma'(z), ...) after
  which the candidate's tensor would agree with the oracle.

Matching uses ``CLOSE``: half of float64's digits, far looser than any rounding
the comparison allows and far tighter than the effect of any signature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gradcert.reference.activations import activation_of_layer

CLOSE = 2.0**-26  # relative: sqrt(eps), see the module docstring

SIGNATURES = {
    "sign_flipped": "the sign is flipped",
    "transposed": "the tensor is transposed",
    "factor_m": "it is m times too large: a sum where the mean belongs",
    "factor_1_over_m": "it is m times too small: divided by m once too often",
    "layer_zero": "the layer's gradient was left at zero",
    "bp2_untransposed": "BP2 multiplies by w^{l+1} where its transpose belongs",
    "sigma_prime_missing": "sigma'(z) is missing: delta lacks its factor sigma'(z)",
    "sigma_prime_extra": "sigma'(z) is applied once too often",
    "sigma_prime_at_a": "sigma' is taken at the activation a instead of at z",
    "order_swapped": "it returned (nabla_w, nabla_b); gradcert expects network.py's (nabla_b, nabla_w)",
}


@dataclass(frozen=True)
class Diagnosis:
    tensor: str
    equation: str | None  # "BP1".."BP4", or None when not determined
    signature: str | None  # a key of SIGNATURES
    reference_oracle: str
    suggestion: str | None = None  # e.g. "matches cross-entropy: rerun with --cost cross-entropy"

    @property
    def explanation(self):
        return SIGNATURES.get(self.signature, "")


def close(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    tiny = np.finfo(float).tiny  # two exact zeros are close
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= CLOSE * (np.abs(a) + np.abs(b)) + tiny))


def _forward(case):
    """z^l (after normalisation) and a^l of the case, from the reference network."""
    from gradcert.reference.layers import activation_inputs

    net = case.network()
    caches, activations = net._forward(case.x)
    return activation_inputs(net.steps, caches), activations


def diagnose(failure) -> Diagnosis:
    """Explain a ``Disagreement`` of a network or function candidate."""
    bad = [c for c in failure.comparisons if not c.agrees]
    first = bad[0].first_disagreement
    oracle = _reference_oracle(failure)
    nabla_b, nabla_w = failure.gradient
    equation = None
    if failure.part == "backprop":
        equation = bp_equation(failure.case, nabla_b, nabla_w, oracle)
    swapped = zip(nabla_b, nabla_w, oracle.nabla_b, oracle.nabla_w)
    if all(close(b, ow) and close(w, ob) for b, w, ob, ow in swapped):
        return Diagnosis(first.name, None, "order_swapped", oracle.name)
    signature = _signature(failure, first, oracle)
    if signature is None and equation == "BP2" and _untransposed_bp2(failure.case, nabla_b):
        signature = "bp2_untransposed"
    suggestion = _other_cost(failure) or _other_activation(failure)
    return Diagnosis(first.name, equation, signature, oracle.name, suggestion)


def _other_cost(failure):
    """"matches COST: rerun with --cost COST" when the gradient is another supported cost's."""
    import dataclasses

    from gradcert.reference.architecture import COSTS

    case = failure.case
    for cost in COSTS:
        if cost == case.arch.cost:
            continue
        try:
            other = dataclasses.replace(case, arch=dataclasses.replace(case.arch, cost=cost))
        except ValueError:  # that cost does not fit this output layer
            continue
        if other.arch.cost == "log-likelihood" and not np.all(np.isin(case.y, (0.0, 1.0))):
            continue  # the log-likelihood needs one-hot targets
        if _matches(failure, other):
            return f"the gradient is exactly that of the {cost} cost: if that is the cost it implements, " \
                   f"rerun with --cost {cost}"
    return None


def _matches(failure, other):
    """Whether the candidate's gradient is, to rounding, the gradient of ``other`` (a case)."""
    from gradcert.properties.certify import judge

    names = [c.oracle for c in failure.comparisons][:1]
    with np.errstate(all="ignore"):  # a cost singular at this case (ln 0) is not the one
        found = judge(other, failure.gradient, names, failure.extra_error and None)
    return all(c.agrees and not c.unchecked for c in found)


def _other_activation(failure):
    """"matches ACTIVATION: rerun with --activation ACTIVATION" when the gradient is, to rounding, that of
    the same network with another activation everywhere, in its hidden layers or at its output (a
    network built with its own default, say, while the run declared another) -- and of one such
    network only: where two fit (relu and linear, on a case whose units are all on one side), the
    case does not tell them apart and nothing is suggested."""
    import dataclasses

    from gradcert.reference.architecture import ELEMENTWISE

    arch = failure.case.arch
    depth, found = arch.depth, []
    spans = [("--activation", range(depth))]
    if depth > 1:
        spans += [("--hidden-activation", range(depth - 1)), ("--output-activation", range(depth - 1, depth))]
    for flag, layers in spans:
        for name in ELEMENTWISE:
            activations = tuple(name if i in layers else a for i, a in enumerate(arch.activations))
            if activations == tuple(arch.activations):
                continue
            try:
                other_arch = dataclasses.replace(arch, activations=activations)
                other = dataclasses.replace(failure.case, arch=other_arch)
            except ValueError:  # that activation does not fit this cost
                continue
            if _matches(failure, other):
                found.append((flag, name))
    if len({name for _, name in found}) != 1:
        return None
    flag, name = found[0]
    where = {"--activation": "every layer", "--hidden-activation": "the hidden layers",
             "--output-activation": "the output layer"}[flag]
    return (f"the gradient is exactly that of {name} in {where}: if that is what the network computes, "
            f"rerun with {flag} {name}")


def _reference_oracle(failure):
    from gradcert.properties.certify import oracle_gradients

    names = [c.oracle for c in failure.comparisons]
    preferred = [n for n in ("torch", "jax", "complex-step", "finite-diff") if n in names]
    return oracle_gradients(failure.case, preferred[:1])[0]


def bp_equation(case, nabla_b, nabla_w, oracle):
    """The first of BP1-BP4 (from the output down) that the candidate's tensors violate."""
    arch = case.arch
    if case.m != 1 or arch.features:  # batch norm, l2 and the other components change BP1-BP4
        return None
    us, activations = _forward(case)
    for layer in reversed(range(arch.depth)):
        delta = nabla_b[layer]
        a_prev = activations[layer]
        if layer == arch.depth - 1:
            expected, name = oracle.nabla_b[layer], "BP1"
        else:
            sigma = activation_of_layer(arch, layer)
            expected, name = sigma.vjp(us[layer], case.weights[layer + 1].T @ nabla_b[layer + 1]), "BP2"
        if not close(nabla_w[layer], delta @ a_prev.T):
            norm = float(np.sum(a_prev * a_prev))
            recovered = nabla_w[layer] @ a_prev / norm if norm > 0 else None
            if recovered is not None and close(recovered, expected):
                return "BP3"
            return "BP4" if close(delta, expected) else name
        if not close(delta, expected):
            return name
    return None


def _signature(failure, first, oracle):
    case = failure.case
    layer = first.layer
    kind_w = first.name.startswith("nabla_w")
    nabla_b, nabla_w = failure.gradient
    c = np.asarray((nabla_w if kind_w else nabla_b)[layer], float)
    o = np.asarray((oracle.nabla_w if kind_w else oracle.nabla_b)[layer], float)
    m = case.m
    if not np.any(c) and np.any(o):
        return "layer_zero"
    if close(-c, o):
        return "sign_flipped"
    if c.shape[0] == c.shape[-1] and c.ndim == 2 and close(c.T, o) and not close(c, o):
        return "transposed"
    decay = case.arch.l2 * np.asarray(case.weights[layer]) if kind_w else 0.0
    if m > 1 and close((c - decay) / m + decay, o):
        return "factor_m"
    if m > 1 and close((c - decay) * m + decay, o):
        return "factor_1_over_m"
    if failure.part != "backprop" or any(case.arch.batch_norm) or m != 1:
        return None  # sigma'(z) is a per-example factor: it factors out of one example only
    us, activations = _forward(case)
    sigma = activation_of_layer(case.arch, layer)
    if not getattr(sigma, "elementwise", False):
        return None
    prime_z = sigma.prime(us[layer])
    prime_a = sigma.prime(activations[layer + 1])
    # Each row of nabla_b^l and nabla_w^l carries the factor sigma'(z_j) of its unit j.
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, factor in (("sigma_prime_missing", prime_z), ("sigma_prime_extra", 1.0 / prime_z),
                             ("sigma_prime_at_a", prime_z / prime_a)):
            if np.all(np.isfinite(factor)) and close(c * factor, o):
                return name
    return None


def _untransposed_bp2(case, nabla_b):
    """Does delta^l = sigma'(z^l) * (w^{l+1} delta^{l+1}) hold, with w square, where BP2 wants w^T?"""
    us, _ = _forward(case)
    for layer in range(case.arch.depth - 1):
        w = np.asarray(case.weights[layer + 1])
        if w.shape[0] == w.shape[1] and not close(w, w.T):
            sigma = activation_of_layer(case.arch, layer)
            if close(nabla_b[layer], sigma.vjp(us[layer], w @ nabla_b[layer + 1])):
                return True
    return False
