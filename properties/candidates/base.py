"""What every checker shares: how a gradient is judged, which oracles judge it, which networks are drawn.

A *checker* drives one interface style through the worker and judges what comes back.  It offers

* ``strategy()`` -- the Hypothesis strategy of its cases, within what the user declared;
* ``pinned(seed)`` -- the one case ``--case-seed`` names;
* ``check(case)`` -- the comparisons, raising ``Disagreement`` on a gradient bug,
  ``CandidateFailure`` when the candidate misbehaves and ``Declined`` when it declines the case;
* ``reproduce(case)`` -- the options that pin that case, for the report's command;
* ``notes`` (what the report should say: a skipped update step, an inferred cost) and
  ``tensors`` (every tensor checked).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from gradcert.properties import strategies
from gradcert.properties.certify import FD_MAX_ENTRIES, judge
from gradcert.properties.compare import Comparison, TensorComparison, unit_roundoff
from gradcert.properties.errors import UsageError
from gradcert.reference.architecture import ACTIVATIONS, COSTS, Architecture
from hypothesis import strategies as st

from gradcert import oracles

DIRECTIONAL_ABOVE = 100_000  # parameters: larger networks are checked along directions by default
ETA = 0.5  # the learning rate gradcert passes to update_mini_batch
# Estimated bytes per parameter of one check: the case, the candidate's copy, the oracles' gradients
# and bounds (about 40 float64 arrays of the parameters' size) -- refused before allocating when
# they would not fit in the memory this machine has.
BYTES_PER_PARAMETER = 40 * 8


def oracle_names(options, style):
    """The oracles that judge this style: those asked for, or every installed one that applies."""
    if style in ("layer", "pair", "model") or (style == "step" and options.lr is not None):
        return ("finite-diff",)  # a black box: only differences of its own forward can judge it
    if options.oracles is not None:
        return tuple(options.oracles)
    installed = oracles.installed()
    if style != "reference" and "torch" in installed and "jax" in installed:
        # jax.grad finds exactly what torch.autograd finds and compiles each new architecture
        # in ~0.2 s: a target's default check leaves it to --oracles.
        installed.remove("jax")
    return tuple(installed)


def directional(arch, options) -> bool:
    return options.mode == "directional" or (options.mode == "auto" and arch.n_parameters > DIRECTIONAL_ABOVE)


def judge_gradient(case, gradient, options, names, roundoff, extra_error=None):
    """The comparisons for one candidate gradient, entry by entry or along directions."""
    if directional(case.arch, options):
        return [_directional_comparison(case, gradient, names, roundoff, extra_error)]
    fd_entries = None if options.mode == "exhaustive" else FD_MAX_ENTRIES
    return judge(case, gradient, names, roundoff, extra_error, stop_early=True, fd_max_entries=fd_entries)


def agrees(comparisons):
    """True when no oracle found a bug; raises Unchecked when no oracle could check the case at all
    (every comparison "cannot-check": a saturated log-cost every oracle declines, say)."""
    if any(c.status == "bug" for c in comparisons):
        return False
    if comparisons and all(c.status == "cannot-check" for c in comparisons):
        raise Unchecked(", ".join(f"{c.oracle}: {c.status}" for c in comparisons))
    return True


class Unchecked(Exception):
    """No oracle could compute this case's gradient: counted, not judged."""


def _directional_comparison(case, gradient, names, roundoff, extra_error=None):
    """directional_check's dot-product tests as a Comparison (one row per direction)."""
    from gradcert.properties.directional.check import directional_check

    # The complex step (NumPy, every direction in one pass) unless the oracles leave it out;
    # then forward-mode AD, or central differences along each direction.
    oracle = next((n for n in ("complex-step", "torch", "jax") if n in names), "finite-diff")
    roundoff = unit_roundoff(np.float64) if roundoff is None else roundoff
    result = directional_check(case, gradient, oracle=oracle, roundoff=roundoff, extra_error=extra_error)
    rows = []
    for r in result.records:
        layer = int(r.label.split("[")[1].split("]")[0]) if "[" in r.label else case.arch.depth
        rows.append(
            TensorComparison(
                name=f"<g, d> {r.label}",
                layer=layer,
                max_abs_error=r.difference,
                # relative to the projection, or to its tolerance when the projection is ~0
                max_rel_error=r.difference / max(abs(r.oracle), r.tolerance) if r.difference else 0.0,
                worst_index=(),
                candidate_value=r.candidate,
                oracle_value=r.oracle,
                tolerance=r.tolerance,
                excess=0.0 if r.status != "bug" else r.excess,
            )
        )
    for t in result.taylor:
        if t.status == "bug":
            rows.append(
                TensorComparison(
                    name=f"Taylor rate {t.label}",
                    layer=case.arch.depth,
                    max_abs_error=0.0,
                    max_rel_error=0.0,
                    worst_index=(),
                    candidate_value=t.rate,
                    oracle_value=2.0,
                    tolerance=0.0,
                    excess=float("inf"),
                )
            )
    return Comparison(f"{result.oracle} (directional)", rows)


def layer_activations(options, layers):
    """One activation per layer from --activation, or None when it is to be drawn."""
    if options.activation is None:
        return None
    names = options.activation
    return list(names) * layers if len(names) == 1 else list(names)


def architectures_for(options, style):
    """Architectures within what the user declared (fixed sizes, or drawn ones, families included)."""
    default_costs = ("quadratic",) if style in ("network", "step") else COSTS
    default_activations = ("sigmoid",) if style in ("network", "step") else ACTIVATIONS
    costs = options.cost or default_costs
    if style in ("network", "step") and len(costs) != 1:
        raise UsageError("--cost: a network implements one cost; name one")
    l2, batch_norm = _features(options, style)
    if options.sizes is not None:
        check_memory(sum((a + 1) * b for a, b in zip(options.sizes[:-1], options.sizes[1:])))
        return _fixed_sizes(options, costs, default_activations, l2, batch_norm)
    hidden = options.hidden_activation or options.activation or default_activations
    output = options.output_activation or options.activation or default_activations
    order = [a for a in strategies.SIMPLEST_FIRST if a in set(hidden) | set(output)]
    depth = {} if options.depth is None else {"min_depth": options.depth, "max_depth": options.depth}
    if options.depth == 1 and options.hidden_activation and not options.output_activation:
        raise UsageError(
            "--hidden-activation with --depth 1: a network of one weight layer has no hidden layer"
        )
    try:
        return strategies.architectures(
            activations=tuple(order),
            costs=tuple(costs),
            l2=l2,
            batch_norm=batch_norm is True,
            modified_neuron=style == "reference" and options.activation is None and len(order) > 1,
            hidden_activations=tuple(a for a in order if a in hidden),
            output_activations=tuple(a for a in order if a in output),
            **depth,
        )
    except Exception as error:  # hypothesis' InvalidArgument: no declared cost fits the outputs
        raise UsageError(str(error)) from None


def _features(options, style):
    if style in ("network", "step"):
        return False, False
    l2 = (style == "function") if options.l2 is None else options.l2
    batch_norm = options.batch_norm if options.batch_norm is not None else style == "reference"
    return l2, batch_norm


def _fixed_sizes(options, costs, default_activations, l2, batch_norm):
    layers = len(options.sizes) - 1
    activations = layer_activations(options, layers)
    if activations is None:
        hidden = (options.hidden_activation or default_activations)[0]
        output = (options.output_activation or default_activations)[0]
        activations = [hidden] * (layers - 1) + [output]
    flags = batch_norm if isinstance(batch_norm, tuple) else (False,) * layers
    decay = l2 if not isinstance(l2, bool) else 0.0
    valid = []
    for cost in costs:
        try:
            valid.append(Architecture.build(options.sizes, activations, cost, decay, batch_norm=list(flags)))
        except UsageError:
            continue
    if not valid:
        raise UsageError(
            f"no declared cost ({', '.join(costs)}) fits sizes {list(options.sizes)} with "
            f"activation {'/'.join(activations)}"
        )
    archs = st.sampled_from(valid)
    if l2 is True:
        archs = st.builds(
            lambda arch, decay: dataclasses.replace(arch, l2=decay), archs, st.sampled_from([0.0, 0.1])
        )
    if batch_norm is True:
        archs = st.builds(
            lambda arch, fl: dataclasses.replace(arch, batch_norm=tuple(fl)),
            archs,
            st.lists(st.booleans(), min_size=layers, max_size=layers),
        )
    return archs


def pinned_arch(options, style):
    """The one architecture --sizes (with --activation, --cost, --l2, --batch-norm) names."""
    layers = len(options.sizes) - 1
    activations = layer_activations(options, layers) or (
        [(options.hidden_activation or ("sigmoid",))[0]] * (layers - 1)
        + [(options.output_activation or ("sigmoid",))[0]]
    )
    cost = (options.cost or ("quadratic",))[0]
    flags = options.batch_norm if isinstance(options.batch_norm, tuple) else False
    return Architecture.build(options.sizes, activations, cost, options.l2 or 0.0, batch_norm=flags)


def check_memory(arch_or_count):
    """Refuse, before allocating, a network whose check would not fit in this machine's memory."""
    import os

    count = arch_or_count if isinstance(arch_or_count, int) else arch_or_count.n_parameters
    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    needed = count * BYTES_PER_PARAMETER
    if needed > available:
        raise UsageError(
            f"--sizes: {count:,} parameters need about {needed / 2**30:.0f} GiB to check, and "
            f"this machine has {available / 2**30:.0f} GiB; give smaller sizes"
        )


def network_reproduce(case, options, *, keep_features):
    """The options that pin a network case: its architecture, batch and seed."""
    arch = case.arch
    pinned = {
        "sizes": list(arch.sizes),
        "activation": list(arch.activations),
        "cost": arch.cost,
        "batch": case.m,
        "case_seed": case.seed,
        "examples": None,
        "seed": None,
        "hidden_activation": None,
        "output_activation": None,
        "depth": None,
    }
    if keep_features:
        pinned["l2"] = arch.l2 if arch.l2 else None
        pinned["batch_norm"] = list(arch.batch_norm) if any(arch.batch_norm) else None
    return pinned


class Checker:
    """The common state of a checker: the options, the target's name, notes and tensors checked."""

    style = "?"

    def __init__(self, options, name):
        self.options, self.name = options, name
        self.notes, self.tensors = [], []
        self.oracles = oracle_names(options, self.style)

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def checked(self, *names):
        for name in names:
            if name not in self.tensors:
                self.tensors.append(name)

    def close(self):
        pass


class NetworkCases(Checker):
    """A checker of whole-network gradients on gradcert's drawn cases (architectures from the
    options, weights and a batch drawn): network targets, grad functions, the bundled reference.
    ``keep_features``: whether the reproduce command names the drawn features (l2, batch norm,
    ...), which only a target told of them is given."""

    keep_features = True

    def strategy(self):
        archs = architectures_for(self.options, self.style)
        return strategies.cases(architectures=archs, max_batch=self.options.batch)

    def pinned(self, seed):
        arch = pinned_arch(self.options, self.style)
        check_memory(arch)
        return strategies.case_from_seed(arch, self.options.batch, seed)

    def reproduce(self, case):
        return network_reproduce(case, self.options, keep_features=self.keep_features)
