"""Layers, function pairs and models: code judged by differences of its own forward pass (or loss).

No architecture is shared with these: the oracle is the finite-difference derivative of the
candidate's *own* forward (``oracles.finite_diff.vjp``) or loss (``finite_diff.derivative``),
evaluated in the worker at many points per round trip.  So a backward is right when it is the
vector-Jacobian product of the forward it sits beside, whatever that forward computes.

Shapes are declared with letters, each drawn per case (``N`` is the batch, at most ``--batch``):
a layer's input ``--shape N,C,H,W`` (by default ``N,D`` in rows, or ``D,N`` in columns), a pair's
``--inputs "x=N,D w=D,M b=M"``, a model's ``X=N,D``; ``--dims N=2,D=3`` fixes letters.

Layers.  Built with no argument, with the input width (``Layer(D)``) or with the input and
output widths (``Dense(D, M)``), plus ``--init``.  Before the search one probe case finds out
what can be found: the batch layout (rows are tried first, then columns), the parameters (float
arrays the layer holds after construction that forward does not change, and arrays forward
creates in a params-like dict or that get a gradient after backward: lazy initialisation),
buffers (arrays forward changes: running statistics), and each parameter's gradient (``dW`` for
``W``, ``grad_W``, ``W_grad``, ``grads['W']`` for ``params['W']``, ``_dw`` for ``_w``, a ``.grad``
beside a ``.data``, or ``--params W:dW``).  A parameter whose gradient cannot be found is refused
with exit code 2, naming it: never a certificate of dx alone.  A backward that changes the
parameters itself applies its own step: with ``--lr`` it is judged as (before - after) / lr.

Randomness is held fixed (``worker``): dropout draws the same mask at every call.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import finite_diff
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.base import Checker
from gradcert.properties.candidates.interface import INPUT_NAMES, parameters
from gradcert.properties.candidates.remote import PARTNER, TARGET, Remote, path_text
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.certify import Disagreement
from gradcert.properties.compare import Comparison, compare_tensor, unit_roundoff
from gradcert.properties.errors import TargetError, UsageError
from hypothesis import strategies as st

BATCH = "N"
LETTER_RANGE_2D = (1, 6)  # sizes of the other letters of a 2-D input: every entry is probed 4 times
LETTER_RANGE_ND = (1, 4)  # ... and of inputs of rank 3 or more (a 4-D input of 4^4 entries is 256 probes)
# Two calls on the same input may differ by a reordered sum: at most 2^10 ulps of the largest entry
# (far above any reordering of a few hundred terms of that size, far below a random perturbation).
REPEAT_ULPS = 2.0**10
STEP_LR = 0.5  # the learning rate gradcert passes to a backward(dout, lr) that applies its own step
# A certificate says so when the oracle resolved some tensor only to more than this fraction of its
# size: float64 finite differences of a smooth forward resolve ~u^(2/3) ~ 1e-11, float32 ones ~1e-5.
COARSE = 1e-3
DIAGNOSIS_SIZE = 3  # letters of the case a small failure is diagnosed on
# Entries of one tensor probed by finite differences per case (a fresh random sample each case, the
# rest left for other cases): bounds a case's cost at ~4 x 48 calls of the forward per tensor.
ENTRIES_PER_CASE = 48
SAMPLE_STREAM = 9  # the random stream of a case that picks the entries
PARAM_DICTS = ("params", "parameters", "param", "weights", "_params", "_parameters", "variables")
GRAD_DICTS = (
    "grads",
    "gradients",
    "grad",
    "dparams",
    "_grads",
    "_gradients",
    "param_grads",
    "d_params",
    "grad_params",
)
WIDTH_NAMES = (
    "n",
    "size",
    "dim",
    "d",
    "width",
    "features",
    "num_features",
    "n_in",
    "input_dim",
    "in_features",
    "input_size",
    "fan_in",
    "n_inputs",
    "in_dim",
    "channels",
    "num_channels",
)
OUTPUT_NAMES = (
    "units",
    "n_out",
    "out_features",
    "output_dim",
    "output_size",
    "fan_out",
    "n_units",
    "num_units",
    "hidden_size",
    "n_outputs",
    "out_dim",
    "n_neurons",
)


@dataclass(frozen=True, eq=False)
class ShapeCase:
    """One drawn case of a black box: the letters' sizes and the seed of every array."""

    dims: dict
    seed: int

    @property
    def m(self):
        return self.dims.get(BATCH, 1)

    def describe(self):
        return " ".join(f"{k}={v}" for k, v in self.dims.items()) + f" seed={self.seed}"

    def record(self):
        return {"dims": dict(self.dims), "seed": self.seed}

    def rng(self, stream):
        return np.random.default_rng((self.seed, stream))


def parse_letters(text):
    return tuple(p.strip() for p in text.split(",") if p.strip())


def shape_of(letters, dims):
    return tuple(int(p) if p.isdigit() else dims[p] for p in letters)


def drawn(case, shape, stream, *, zeros=True, dtype=np.float64):
    """A Gaussian array of ``shape``, representable in ``dtype`` (the precision the candidate
    computes in); every fourth seed puts exact zeros in (ReLU's kink at 0)."""
    rng = case.rng(stream)
    a = rng.standard_normal(shape)
    if zeros and case.seed % 4 == 0:
        a[rng.random(shape) < 0.3] = 0.0
    return a.astype(dtype).astype(np.float64)


class Sampled:
    """A finite-difference estimate of some entries of a tensor, scattered back to its shape: NaN
    (not asked) elsewhere, ``checked`` marking the entries asked."""

    def __init__(self, estimate, index, shape):
        size = int(np.prod(shape))
        fields = {}
        for name, fill in (("value", np.nan), ("error", np.nan), ("kink", False)):
            full = np.full(size, fill, dtype=bool if name == "kink" else float)
            full[index] = np.asarray(getattr(estimate, name)).reshape(-1)
            fields[name] = full.reshape(shape)
        self.value, self.error, self.kink = fields["value"], fields["error"], fields["kink"]
        checked = np.zeros(size, bool)
        checked[index] = True
        self.checked = checked.reshape(shape)
        self.diagonal = None


def estimate_entries(kind, function, base, *args, dtype, rng, limit=ENTRIES_PER_CASE):
    """``finite_diff.vjp`` (kind "vjp") or ``derivative`` for at most ``limit`` entries of ``base``,
    chosen by ``rng``: every case checks a fresh sample, so a run covers every entry while each case
    costs at most 4 limit calls and the noise probe's."""
    estimator = finite_diff.vjp if kind == "vjp" else finite_diff.derivative
    if base.size <= limit:
        return estimator(function, base, *args, dtype=dtype)
    index = np.sort(rng.choice(base.size, limit, replace=False))
    flat = base.reshape(-1)

    def on_sample(points):
        full = np.repeat(flat[None], len(points), axis=0)
        full[:, index] = points.reshape(len(points), -1)
        return function(full.reshape(len(points), *base.shape))

    return Sampled(estimator(on_sample, flat[index], *args, dtype=dtype), index, base.shape)


def precision(*dtypes):
    """The floating dtype of least precision among ``dtypes`` (float64 when there is none)."""
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind == "f"]
    return max(floats, key=lambda d: np.finfo(d).eps, default=np.dtype(np.float64))


def diagonal_of(estimate):
    return None if estimate.diagonal is None else estimate.diagonal.value


class BlackBox(Checker):
    """What layers, pairs and models share: letters, drawing, finite differences, comparison."""

    def __init__(self, options, name, remote: Remote, interface):
        super().__init__(options, name)
        self.remote, self.interface = remote, interface
        self.kwargs = dict(options.kwargs or {})
        self.letters = ()
        self.resolution = 0.0  # the worst error / size of a finite-difference oracle tensor seen

    def _callable_with(self, method, count, what):
        """Refuse, before any call, a method that cannot be called with ``count`` positional arguments
        (and --kwargs): an interface mismatch is exit code 2, never a crash verdict."""
        signature = (self.interface.description.get("methods") or {}).get(method)
        params = parameters(signature)
        if params is None:
            return
        given = set(self.kwargs)
        positional = [p for p in params if p.positional and p.name not in given]
        needed = [p for p in positional if p.required]
        variadic = any(p.kind == "VAR_POSITIONAL" for p in params)
        missing = [
            p.name for p in params if p.kind == "KEYWORD_ONLY" and not p.has_default and p.name not in given
        ]
        if len(needed) > count or (len(positional) < count and not variadic) or missing:
            shown = ", ".join(p.name for p in params)
            extra = [p.name for p in needed[count:]] + missing
            raise TargetError(
                f"{self.name}.{method}({shown}): gradcert passes {what}"
                + (f"; give {', '.join(extra)} with --kwargs (JSON)" if extra else "")
            )

    def letter_strategy(self, letters, rank):
        fixed = self.options.dims or {}
        low, high = LETTER_RANGE_2D if rank <= 2 else LETTER_RANGE_ND
        ranges = {}
        for letter in dict.fromkeys(letters):
            if letter.isdigit():
                continue
            if letter in fixed:
                ranges[letter] = st.just(fixed[letter])
            elif letter == BATCH:
                ranges[letter] = st.integers(1, max(1, self.options.batch))
            else:
                ranges[letter] = st.integers(low, high)
        unknown = sorted(set(fixed) - set(ranges))
        if unknown:
            raise UsageError(
                f"--dims: {', '.join(unknown)} is no letter of the declared shapes "
                f"({', '.join(ranges) or 'none'})"
            )
        return st.builds(
            lambda dims, seed: ShapeCase(dims, seed), st.fixed_dictionaries(ranges), st.integers(0, 2**32 - 1)
        )

    def pinned(self, seed):
        dims = dict(self.options.dims or {})
        missing = [
            letter for letter in dict.fromkeys(self.letters) if not letter.isdigit() and letter not in dims
        ]
        if missing:
            raise UsageError(f"--case-seed pins one case: give --dims for {', '.join(missing)}")
        return ShapeCase({k: dims[k] for k in dict.fromkeys(self.letters) if not k.isdigit()}, seed)

    def reproduce(self, case):
        return {"dims": dict(case.dims), "case_seed": case.seed, "examples": None, "seed": None}

    # -- judging one tensor
    def judge(self, name, candidate, estimate, roundoff, *, extra=None):
        """compare_tensor for a black box: the finite-difference error is the tolerance's core (it
        exceeds the candidate's own rounding, a few ulps of |oracle|, by ~10^5)."""
        error = estimate.error if extra is None else estimate.error + extra
        peak = float(np.nanmax(np.abs(estimate.value), initial=0.0))
        if peak > 0:  # how finely the oracle resolves this tensor: its largest error against its size
            self.resolution = max(self.resolution, float(np.nanmax(error, initial=0.0)) / peak)
        return compare_tensor(
            name,
            0,
            candidate,
            estimate.value,
            error,
            np.abs(estimate.value),
            2 * roundoff,
            roundoff,
            checked=getattr(estimate, "checked", None),
            kink=estimate.kink,
        )

    def close(self):
        if self.resolution > COARSE:
            self.note(
                f"the finite differences of {self.name}'s own {'loss' if self.part == 'loss' else 'forward'} "
                f"resolved its gradients only to {self.resolution:.0%} of their size at worst (its "
                "precision, or kinks near the step): an error smaller than that would not show"
            )

    def verdict(self, case, tensors, gradient, dtype, diagnose):
        """The comparisons, or a Disagreement naming the first failing tensor and, where one of the
        classic bugs fits, its signature (``diagnose(name)``, computed only for a failure)."""
        for what in sorted(self.remote.mutated):
            self.note(
                f"{what} writes into the arrays it is given (in place): harmless here, gradcert hands "
                "every call arrays of its own"
            )
        comparison = Comparison("finite-diff", tensors)
        if not comparison.agrees:
            failure = Disagreement(
                case,
                [comparison],
                part=self._part(comparison.first_disagreement.name),
                gradient=gradient,
                dtype=dtype,
            )
            first = comparison.first_disagreement
            failure.diagnosis = self._larger_diagnosis(case, first.name) or diagnose(first.name)
            raise failure
        return [comparison]

    def _part(self, tensor):
        return self.part

    def _larger_diagnosis(self, case, tensor):
        """A shrunk case of a few entries cannot tell one bug from another (one dropped unit, one
        normalised example): the diagnosis is then read off the same case with every drawn letter
        at least DIAGNOSIS_SIZE, when the bug shows there too."""
        fixed = self.options.dims or {}
        if getattr(self, "_diagnosing", False) or all(
            v >= DIAGNOSIS_SIZE or k in fixed for k, v in case.dims.items()
        ):
            return None
        larger = ShapeCase(
            {k: v if k in fixed else max(v, DIAGNOSIS_SIZE) for k, v in case.dims.items()}, case.seed
        )
        self._diagnosing = True
        try:
            self.check(larger)
        except Disagreement as failure:
            found = failure.diagnosis
            first = failure.comparisons[0].first_disagreement.name
            return found if found is not None and found.signature and first == tensor else None
        except Exception:  # noqa: BLE001 - the larger case is only a help to the diagnosis
            return None
        finally:
            self._diagnosing = False
        return None

    def repeat_agrees(self, first, second, what, roundoff):
        """The same call twice must give the same result, to a reordered sum's rounding."""
        for a, b in zip(first, second):
            a, b = np.asarray(a, float), np.asarray(b, float)
            scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
            if a.shape != b.shape or np.any(np.abs(a - b) > REPEAT_ULPS * roundoff * scale):
                difference = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
                raise CandidateFailure(
                    "non-deterministic",
                    f"{what}: two calls on the same input differ by "
                    f"{difference:.3g}; a backward must be a function of its input (if it "
                    "draws random numbers, give it a seed)",
                )


# --------------------------------------------------------------------------------------------- layers


@dataclass
class Found:
    """What the probe case found out about a layer."""

    layout: str | None  # rows / columns for a 2-D input, None for a declared shape
    letters: tuple  # the input's letters
    constructor: tuple  # letters passed to the constructor, in order
    parameters: list  # paths of the parameters
    gradients: dict  # parameter path -> gradient path (or an index into backward's tuple)
    buffers: list  # paths of arrays forward changes (running statistics)
    steps: bool  # backward changes the parameters: it applies its own step
    dtype: object = np.float64  # the precision of the layer's output


class LayerChecker(BlackBox):
    style = "layer"
    part = "backward"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        self.forward, self.backward = interface.forward, interface.backward
        self.takes = interface.backward_takes
        # A learning rate passed to backward is gradcert's to choose, as eta is for update_mini_batch;
        # one given to the constructor must be declared (--lr), to read the step.
        self.lr = options.lr if options.lr is not None else (STEP_LR if "lr" in self.takes else None)
        self.instance = interface.description.get("what") == "instance"
        self._callable_with(self.forward, 1, "the layer's input x")
        self.found = self._probe()
        self.letters = self.found.letters + tuple(
            c for c in self.found.constructor if c not in self.found.letters
        )
        if options.lr is not None and not (self.found.steps or "lr" in self.takes):
            raise UsageError(
                f"--lr: {name}.{self.backward} does not change the layer's parameters, so it applies "
                "no step of its own; leave --lr out"
            )
        if self.found.steps or "lr" in self.takes:
            self.style, self.part = "step", "backward (its own step)"
            if self.lr is None:
                changed = ", ".join(path_text(p) for p in self.found.parameters) or "its parameters"
                raise UsageError(
                    f"{name}.{self.backward} changes {changed} itself (it applies its own step): "
                    "declare the learning rate it uses with --lr (and pass it to the constructor "
                    "with --init if it takes one)"
                )
            self.checked("dx", *(f"{path_text(p)} (its step)" for p in self.found.parameters))
        else:
            self.checked(
                "dx", *(f"{self._gradient_name(p)} (of {path_text(p)})" for p in self.found.parameters)
            )

    # -- set-up
    def _constructor_letters(self):
        """What the constructor is given, as letters: (), (D,), (M,), (D, M), or its --init."""
        if self.instance:
            return ()
        params = parameters(self.interface.description.get("call"))
        given = set(self.options.init or {})
        needed = [p for p in (params or []) if p.required and p.name not in given]
        names = [p.name.lower() for p in needed]
        if not needed:
            return ()
        if len(needed) == 1:
            return ("M",) if names[0] in OUTPUT_NAMES else ("D",)
        if len(needed) == 2:
            return ("D", "M")
        raise TargetError(
            f"{self.name}({', '.join(p.name for p in params)}): gradcert passes a layer's "
            "input width, or its input and output widths; give the other arguments with --init "
            "(JSON), e.g. --init '{\"kernel_size\": 3}'"
        )

    def _input_letters(self, layout):
        if self.options.shape:
            return parse_letters(self.options.shape)
        return ("N", "D") if layout == "rows" else ("D", "N")

    def build(self, dims, constructor):
        if self.instance:
            return self.remote.copy(TARGET, what=f"copying {self.name}")
        args = [dims[c] for c in constructor]
        init = {
            k: (dims[v] if isinstance(v, str) and v in dims else v)
            for k, v in (self.options.init or {}).items()
        }
        return self.remote.call(
            TARGET, None, args, init, keep="handle", what=f"{self.name}({', '.join(map(str, args))})"
        )

    def call_forward(self, layer, x):
        out = self.remote.call(
            layer,
            self.forward,
            [x],
            self.kwargs,
            what=f"{self.name}.{self.forward}",
            fresh=True,
            mutable=True,
        )
        return _real_output(out, f"{self.name}.{self.forward}")

    def _backward_args(self, x, dout):
        return [{"dout": dout, "x": x, "lr": self.lr}[t] for t in self.takes]

    def call_backward(self, layer, x, dout):
        what = f"{self.name}.{self.backward}"
        result = self.remote.call(layer, self.backward, self._backward_args(x, dout), what=what, mutable=True)
        extras = []
        if isinstance(result, (tuple, list)) and result and not isinstance(result[0], (float, int)):
            result, extras = result[0], list(result[1:])
        dx = as_array(result, f"{what} (dx)")
        if dx.shape != np.shape(x):
            hint = " (transposed?)" if dx.shape == np.shape(x)[::-1] else ""
            raise CandidateFailure(
                "invalid output",
                f"{what} returned shape {dx.shape}; expected {np.shape(x)}, "
                f"the shape of the layer's input{hint}",
            )
        return dx, extras

    def _probe(self):
        """One probe case (N one more than the widths, so rows and columns cannot be confused)."""
        constructor = self._constructor_letters()
        dims = {"N": 4, "D": 3, "M": 2}
        layouts = [self.options.layout] if self.options.layout else ["rows", "columns"]
        if self.options.shape:
            layouts = [None]
            for letter in parse_letters(self.options.shape):
                if not letter.isdigit():
                    dims.setdefault(letter, (self.options.dims or {}).get(letter, 2 if letter != "N" else 3))
        dims.update(self.options.dims or {})
        first_error = None
        for layout in layouts:
            letters = self._input_letters(layout)
            case = ShapeCase(dims, 1)
            x = drawn(case, shape_of(letters, dims), 0, zeros=False)
            layer = self.build(dims, constructor)
            before = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays")
            try:
                out = self.call_forward(layer, x)
            except CandidateFailure as failure:
                first_error = first_error or failure
                continue
            if layout is not None and len(layouts) > 1:
                self.note(
                    f"batches as {layout} ({'N, D' if layout == 'rows' else 'D, N'}), inferred: the layer "
                    f"accepted them{'' if layout == 'rows' else ' and refused rows'}; --layout fixes it"
                )
            return self._discover(layer, x, out, before, layout, letters, constructor, case)
        raise first_error

    def _discover(self, layer, x, out, before, layout, letters, constructor, case):
        after = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays after {self.forward}")
        dout = drawn(case, out.shape, 1, zeros=False)
        buffers = [p for p in before if p in after and not np.array_equal(before[p], after[p])]
        stable = [p for p in before if p in after and np.array_equal(before[p], after[p])]
        created = [p for p in after if p not in before and not _is_cache(after[p], x, out)]
        dx, extras = self.call_backward(layer, x, dout)
        later = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays after {self.backward}")
        if self.options.params:
            params, gradients = self._explicit(self.options.params, after, later)
            return Found(layout, letters, constructor, params, gradients, buffers, False, out.dtype)
        partners = {path: _partner(path, later, before) for path in stable + created}
        taken = {partner for partner in partners.values() if partner is not None}
        params, gradients = [], {}
        for path, partner in partners.items():
            if path in taken or path[0][1] in GRAD_DICTS:
                continue  # a gradient array itself (dW allocated by the constructor)
            # Without a gradient, an array is a parameter when the constructor made it and forward
            # left it alone (unless its name says buffer), or when forward made it in a params dict
            # (lazy initialisation); anything else forward made is a cache of its own.
            required = (path in stable and not _BUFFER.search(path_text(path).lower())) or (
                path in created and path[0][1] in PARAM_DICTS
            )
            if partner is None and not required:
                continue
            params.append(path)
            if partner is not None:
                gradients[path] = partner
        # gradients returned by backward beside dx, matched to the parameters by shape, in order
        unmatched = [p for p in params if p not in gradients]
        for index, extra in enumerate(extras):
            for path in unmatched:
                if after[path].shape == np.shape(extra):
                    gradients[path] = index
                    unmatched.remove(path)
                    break
        if any(p in later and not np.array_equal(after[p], later[p]) for p in params):
            return Found(layout, letters, constructor, params, {}, buffers, True, out.dtype)
        missing = [p for p in params if p not in gradients]
        # A gradients dict that holds some parameters' gradients and not another's: that one was
        # not computed -- a bug to judge (its gradient taken as 0), not an interface to refuse.
        containers = {g[0] for g in gradients.values() if isinstance(g, tuple) and g[0][1] in GRAD_DICTS}
        for path in list(missing):
            if containers and path[0][1] in PARAM_DICTS and len(path) == 2:
                gradients[path] = ("absent", (next(iter(containers)), path[1]))
                missing.remove(path)
        if missing:
            names = ", ".join(path_text(p) for p in missing)
            raise TargetError(
                f"{self.name} holds float parameters ({names}) whose gradients gradcert cannot find "
                f"after {self.backward} (it looks for d<name>, grad_<name>, <name>_grad, grads[...] "
                f"beside params[...], .grad beside .data); name them with --params "
                f"{','.join(path_text(p) + ':d' + path_text(p) for p in missing)}"
            )
        if buffers:
            self.note(
                f"not parameters (changed by {self.forward}): {', '.join(path_text(p) for p in buffers)}"
            )
        return Found(layout, letters, constructor, params, gradients, buffers, False, out.dtype)

    def _explicit(self, mapping, after, later):
        params, gradients = [], {}
        for name, grad in mapping:
            path = _find_path(name, after)
            partner = _find_path(grad, later)
            if path is None:
                raise UsageError(
                    f"--params {name}:{grad}: {self.name} holds no float array {name!r} after "
                    f"{self.forward} (it holds {', '.join(path_text(p) for p in after) or 'none'})"
                )
            if partner is None:
                raise UsageError(
                    f"--params {name}:{grad}: {self.name} holds no float array {grad!r} after {self.backward}"
                )
            params.append(path)
            gradients[path] = partner
        return params, gradients

    # -- cases
    def strategy(self):
        return self.letter_strategy(self.letters, len(self.found.letters))

    def check(self, case):
        layer = self.build(case.dims, self.found.constructor)
        x_dtype = precision(self.found.dtype)
        x = drawn(case, shape_of(self.found.letters, case.dims), 0, dtype=x_dtype)
        out = self.call_forward(layer, x)
        dout = drawn(case, out.shape, 1, zeros=False)
        outputs = self._outputs(layer, x)
        sample = case.rng(SAMPLE_STREAM)
        fd_x = estimate_entries("vjp", outputs(("arg", 0)), x, dout, dtype=precision(out.dtype), rng=sample)
        holds = self.remote.snapshot(layer, what=f"reading {self.name}'s parameters")
        for path in self.found.parameters:
            if path not in holds:
                raise CandidateFailure(
                    "invalid output", f"{self.name} no longer holds {path_text(path)} after {self.forward}"
                )
        fd = {
            path: estimate_entries(
                "vjp",
                outputs(("param", path)),
                holds[path],
                dout,
                dtype=precision(out.dtype, holds[path].dtype),
                rng=sample,
            )
            for path in self.found.parameters
        }
        if self.found.steps or "lr" in self.takes:
            return self._check_step(case, layer, x, dout, fd_x, fd, holds)
        self.call_forward(layer, x)  # the cache as forward leaves it at x, after the probes
        dx, extras = self.call_backward(layer, x, dout)
        later = self.remote.snapshot(layer, what=f"reading {self.name}'s gradients")
        grads = {
            path: _gradient(self.found.gradients[path], later, extras, self.name, holds[path].shape)
            for path in self.found.parameters
        }
        self.call_forward(layer, x)
        dx_again, _ = self.call_backward(layer, x, dout)
        roundoff = unit_roundoff(np.result_type(dx, *grads.values()))
        self.repeat_agrees([dx], [dx_again], f"{self.name}.{self.backward}", roundoff)
        tensors = [self.judge("dx", dx, fd_x, roundoff)]
        names = {}
        for path in self.found.parameters:
            name = self._gradient_name(path)
            names[name] = path
            grad = grads[path]
            if grad.shape != holds[path].shape:
                raise CandidateFailure(
                    "invalid output",
                    f"{self.name}: the gradient of {path_text(path)} has shape "
                    f"{grad.shape}; expected {holds[path].shape}",
                )
            tensors.append(self.judge(name, grad, fd[path], roundoff))

        def diagnose(name):
            if name != "dx":
                estimate = fd[names[name]]
                return signatures.diagnose(
                    name, grads[names[name]], estimate.value, batch=case.m, kink=estimate.kink
                )
            found = signatures.diagnose(
                "dx",
                dx,
                fd_x.value,
                dout=dout,
                x=x,
                diagonal=diagonal_of(fd_x),
                batch=case.m,
                batch_axis=self._batch_axis(),
                kink=fd_x.kink,
            )
            if found.signature is None and fd_x.diagonal is not None and out.shape == x.shape:
                # sigma' taken at the output: the elementwise derivative evaluated at a instead of z
                at_output = diagonal_of(finite_diff.vjp(outputs(("arg", 0)), out, dout))
                if at_output is not None and signatures.close(dx, dout * at_output):
                    return signatures.Diagnosis("dx", "sigma_prime_at_a")
            return found

        result = self.verdict(case, tensors, (dx, grads), dx.dtype, diagnose)
        self.remote.release(layer)
        return result

    def _gradient_name(self, path):
        where = self.found.gradients.get(path)
        if isinstance(where, tuple) and where and where[0] == "absent":
            return f"{path_text(where[1])} (absent)"
        return path_text(where) if isinstance(where, tuple) else f"d{path_text(path)}"

    def _check_step(self, case, layer, x, dout, fd_x, fd, holds):
        lr = self.lr
        self.call_forward(layer, x)
        dx, _ = self.call_backward(layer, x, dout)
        after = self.remote.snapshot(layer, what=f"reading {self.name}'s parameters after its step")
        roundoff = unit_roundoff(dx.dtype)
        tensors = [self.judge("dx", dx, fd_x, roundoff)]
        for path in self.found.parameters:
            before, now = np.asarray(holds[path], float), np.asarray(after[path], float)
            implied = (before - now) / lr
            # w - lr g and the subtraction back: u (|w| + |w'|) per entry, divided by lr
            extra = unit_roundoff(after[path].dtype) * (np.abs(before) + np.abs(now)) / lr
            tensors.append(
                self.judge(
                    f"d{path_text(path)} (from its step)",
                    implied,
                    fd[path],
                    unit_roundoff(after[path].dtype),
                    extra=extra,
                )
            )
        return self.verdict(
            case,
            tensors,
            (dx, {}),
            dx.dtype,
            lambda name: signatures.diagnose(name, *self._step_tensor(tensors, name), batch=case.m),
        )

    def _step_tensor(self, tensors, name):
        t = next(t for t in tensors if t.name == name)
        return t.candidate_value, t.oracle_value

    def _part(self, tensor):
        if self.style == "step":
            return "step" if "(from its step)" in tensor else "backward"
        return self.part

    def _batch_axis(self):
        letters = self.found.letters
        return letters.index(BATCH) if BATCH in letters else 0

    def _outputs(self, layer, x):
        def for_vary(vary):
            def outputs(points):
                values = self.remote.outputs(
                    layer,
                    self.forward,
                    [x],
                    self.kwargs,
                    vary,
                    points,
                    what=f"{self.name}.{self.forward} (finite differences)",
                )
                return np.stack([_real_output(v, f"{self.name}.{self.forward}") for v in values])

            return outputs

        return for_vary


def _real_output(value, what):
    out = (
        as_array(value, f"{what} output")
        if not isinstance(value, np.ndarray) or value.dtype.kind != "c"
        else None
    )
    if out is None:
        raise CandidateFailure("invalid output", f"{what} returned complex values; a layer's output is real")
    return out


def _is_cache(value, x, out):
    """An array forward stored that is its input or output (or their transpose): a cache, not a parameter."""
    for other in (x, out):
        for candidate in (other, np.transpose(other)):
            if value.shape == candidate.shape and np.array_equal(value, candidate):
                return True
    return False


# Names of arrays that are state, not parameters: running statistics, caches, masks, constants.
_BUFFER = re.compile(r"running|moving|cache|mask|mean|var|std|eps|momentum|buffer|stat")


def _partner(path, later, before):
    """The path of a parameter's gradient among the arrays backward leaves: d<name> and the rest."""
    shape = later.get(path, before.get(path)).shape if (path in later or path in before) else None
    *head, (step, key) = path
    names = []
    if step == "a":
        bare = key.lstrip("_")
        prefix = key[: len(key) - len(bare)]
        names = [
            f"{prefix}d{bare}",
            f"{prefix}d_{bare}",
            f"{prefix}grad_{bare}",
            f"{prefix}grad{bare}",
            f"{prefix}{bare}_grad",
            f"{prefix}{bare}grad",
            f"{prefix}g{bare}",
            f"{prefix}delta_{bare}",
            f"{prefix}d{bare.lower()}",
            f"{prefix}grad_{bare.lower()}",
            f"{prefix}d{bare.upper()}",
        ]
        options = [tuple(head) + (("a", n),) for n in names]
        if key == "data":  # an autodiff-style parameter: its .grad beside its .data
            options.insert(0, tuple(head) + (("a", "grad"),))
    else:
        options = []
        if head and head[0][0] == "a" and len(head) == 1:
            for grads in GRAD_DICTS:  # grads['W'], grads['dW'], grads['grad_W'] beside params['W']
                options += [
                    (("a", grads), (step, key)),
                    (("a", grads), (step, f"d{key}")),
                    (("a", grads), (step, f"grad_{key}")),
                ]
            options.append(tuple(head) + ((step, f"d{key}"),))  # params['W'] with params['dW']
    for option in options:
        if option in later and option != path and (shape is None or later[option].shape == shape):
            return option
    return None


def _find_path(name, arrays):
    for path in arrays:
        text = path_text(path)
        if name in (text, text.replace("['", ".").replace("']", ""), str(path[-1][1])):
            return path
    return None


def _gradient(where, later, extras, name, shape=None):
    if isinstance(where, tuple) and where and where[0] == "absent":
        return np.zeros(shape)  # never computed: judged as a gradient of zero
    if isinstance(where, int):
        return as_array(extras[where], f"{name}: gradient {where + 1} returned by backward")
    if where not in later:
        raise CandidateFailure("invalid output", f"{name} holds no {path_text(where)} after backward")
    return as_array(later[where], f"{name}.{path_text(where)}")


# --------------------------------------------------------------------------------------------- pairs


class PairChecker(BlackBox):
    """cs231n's NAME_forward(x, w, ...) -> (out, cache) and NAME_backward(dout, cache) -> (dx, dw, ...)."""

    style = "pair"
    part = "backward"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        self.forward_name, self.backward_name = interface.pair
        params = parameters(interface.description.get("call")) or []
        self.arguments = [p.name for p in params if p.required and p.name not in self.kwargs]
        declared = _declared_inputs(options.inputs)
        if declared is None:
            if len(self.arguments) != 1:
                raise UsageError(
                    f"{self.forward_name}({', '.join(p.name for p in params)}): declare the shapes of "
                    f'its array inputs with --inputs, e.g. --inputs "'
                    f"{' '.join(a + '=N,D' for a in self.arguments[:1])}"
                    f"{' ' if len(self.arguments) > 1 else ''}"
                    f'{" ".join(a + "=..." for a in self.arguments[1:])}", and the rest with --kwargs'
                )
            declared = {self.arguments[0]: ("N", "D")}
        undeclared = [a for a in self.arguments if a not in declared]
        if undeclared:
            raise UsageError(
                f"{self.forward_name} needs {', '.join(undeclared)}: declare array inputs with --inputs "
                "(name=LETTERS) and other arguments with --kwargs (JSON)"
            )
        extra = [a for a in declared if a not in [p.name for p in params]]
        if extra:
            raise UsageError(f"--inputs: {self.forward_name} takes no argument {', '.join(extra)}")
        self.inputs = [(a, declared[a]) for a in self.arguments]
        self.letters = tuple(letter for _, shape in self.inputs for letter in shape)
        self.checked(*(f"d{a}" for a, _ in self.inputs))

    def strategy(self):
        return self.letter_strategy(self.letters, max(len(s) for _, s in self.inputs))

    def check(self, case):
        arrays = [drawn(case, shape_of(shape, case.dims), i) for i, (_, shape) in enumerate(self.inputs)]
        forward = f"{self.name} ({self.forward_name})"
        out, cache = self.remote.call(
            TARGET, None, arrays, self.kwargs, keep="pair", what=forward, fresh=True, mutable=True
        )
        out = _real_output(out, forward)
        dout = drawn(case, out.shape, len(arrays), zeros=False)
        backward = f"{self.name} ({self.backward_name})"
        grads = self._backward(dout, cache, len(arrays), backward)
        _, cache_again = self.remote.call(
            TARGET, None, arrays, self.kwargs, keep="pair", what=forward, fresh=True, mutable=True
        )
        again = self._backward(dout, cache_again, len(arrays), backward)
        roundoff = unit_roundoff(np.result_type(*grads))
        self.repeat_agrees(grads, again, backward, roundoff)
        tensors, estimates, sample = [], {}, case.rng(SAMPLE_STREAM)
        for i, ((name, _), grad) in enumerate(zip(self.inputs, grads)):
            if grad.shape != arrays[i].shape:
                raise CandidateFailure(
                    "invalid output",
                    f"{backward}: d{name} has shape {grad.shape}; expected "
                    f"{arrays[i].shape}, the shape of {name}",
                )
            estimates[f"d{name}"] = (
                i,
                estimate_entries(
                    "vjp", self._outputs(arrays, i), arrays[i], dout, dtype=precision(out.dtype), rng=sample
                ),
            )
            tensors.append(self.judge(f"d{name}", grad, estimates[f"d{name}"][1], roundoff))

        def diagnose(tensor):
            i, estimate = estimates[tensor]
            found = signatures.diagnose(
                "dx" if self.inputs[i][0] in INPUT_NAMES else tensor,
                grads[i],
                estimate.value,
                dout=dout,
                x=arrays[i],
                diagonal=diagonal_of(estimate),
                batch=case.m,
                kink=estimate.kink,
            )
            return dataclasses.replace(found, tensor=tensor)

        return self.verdict(case, tensors, grads, np.result_type(*grads), diagnose)

    def _backward(self, dout, cache, count, what):
        result = self.remote.call(PARTNER, None, [dout, cache], what=what, mutable=True)
        if count == 1 and not isinstance(result, (tuple, list)):
            result = [result]
        if not isinstance(result, (tuple, list)) or len(result) != count:
            shown = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
            raise CandidateFailure(
                "invalid output",
                f"{what} returned {shown} gradients; expected {count}, one per "
                f"array input ({', '.join(a for a, _ in self.inputs)})",
            )
        return [as_array(g, f"{what}: d{a}") for g, (a, _) in zip(result, self.inputs)]

    def _outputs(self, arrays, index):
        def outputs(points):
            values = self.remote.outputs(
                TARGET,
                None,
                arrays,
                self.kwargs,
                ("arg", index),
                points,
                select=0,
                what=f"{self.name} ({self.forward_name}, finite differences)",
            )
            return np.stack([_real_output(v, self.forward_name) for v in values])

        return outputs


def _declared_inputs(text):
    if not text:
        return None
    return {word.split("=")[0]: parse_letters(word.split("=")[1]) for word in text.split()}


# --------------------------------------------------------------------------------------------- models


class ModelChecker(BlackBox):
    """cs231n's models: loss(X, y) -> (loss, grads) with self.params; labels are integers."""

    style = "model"
    part = "loss"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        self._callable_with("loss", 2, "X and y")
        model = self._build()
        held = self.remote.snapshot(model, what=f"reading {name}'s arrays")
        self.params = [p for p in held if p[0] == ("a", "params")]
        if not self.params:
            raise TargetError(
                f"{name} has loss() but holds no params dict of float arrays (cs231n's "
                "self.params = {'W1': ..., 'b1': ...})"
            )
        declared = _declared_inputs(options.inputs) or {}
        if len(declared) > 1:
            raise UsageError('--inputs: a model takes one array input, X (labels are drawn): e.g. "X=N,5"')
        if options.shape and declared:
            raise UsageError("--shape and --inputs both declare a model's X: give one of them")
        self.x_letters = (
            parse_letters(options.shape) if options.shape else next(iter(declared.values()), None)
        )
        if self.x_letters is None:
            first = next(held[p] for p in self.params if held[p].ndim == 2)
            self.x_letters = ("N", str(first.shape[0]))
            self.note(
                f"X is (N, {first.shape[0]}): the first dimension of {path_text(self.params[0])}; "
                "--inputs X=... fixes it"
            )
        self.letters = self.x_letters
        self.classes = self._classes(model, held)
        self.checked(*(f"grads[{p[1][1]!r}]" for p in self.params))

    def _build(self):
        return self.remote.call(TARGET, None, [], self.options.init, keep="handle", what=f"{self.name}()")

    def _classes(self, model, held):
        """The number of classes: from loss(X)'s scores when y is optional, else the last bias's size."""
        dims = {letter: 2 for letter in self.x_letters if not letter.isdigit()}
        X = drawn(ShapeCase(dims, 0), shape_of(self.x_letters, dims), 0)
        loss = parameters((self.interface.description.get("methods") or {}).get("loss")) or []
        if len(loss) >= 2 and loss[1].has_default:
            scores = as_array(
                self.remote.call(
                    model, "loss", [X], self.kwargs, what=f"{self.name}.loss(X)", fresh=True, mutable=True
                ),
                f"{self.name}.loss(X) (scores)",
            )
            if scores.ndim == 2:
                return scores.shape[1]
        last = [held[p] for p in self.params if held[p].ndim == 1]
        if last:
            return last[-1].shape[0]
        raise TargetError(
            f"{self.name}: gradcert cannot tell the number of classes (loss(X) gives no scores, no "
            "1-D bias): give --dims C=... with --inputs"
        )

    def strategy(self):
        return self.letter_strategy(self.letters, len(self.x_letters))

    def check(self, case):
        model = self._build()
        X = drawn(case, shape_of(self.x_letters, case.dims), 0)
        y = case.rng(1).integers(0, self.classes, size=X.shape[0])
        what = f"{self.name}.loss"
        result = self.remote.call(model, "loss", [X, y], self.kwargs, what=what, fresh=True, mutable=True)
        if not isinstance(result, (tuple, list)) or len(result) != 2 or not isinstance(result[1], dict):
            raise CandidateFailure(
                "invalid output",
                f"{what}(X, y) returned {type(result).__name__}; expected (loss, grads) with grads a dict",
            )
        loss, grads = result
        loss = as_array(loss, f"{what}: the loss")
        held = self.remote.snapshot(model, what=f"reading {self.name}.params")
        again = self.remote.call(model, "loss", [X, y], self.kwargs, what=what, fresh=True, mutable=True)
        tensors, judged = [], []
        for path in self.params:
            key = path[1][1]
            if key not in grads:
                raise CandidateFailure(
                    "invalid output", f"{what}: grads has no entry {key!r} for params[{key!r}]"
                )
            grad = as_array(grads[key], f"{what}: grads[{key!r}]")
            if grad.shape != held[path].shape:
                raise CandidateFailure(
                    "invalid output",
                    f"{what}: grads[{key!r}] has shape {grad.shape}; expected {held[path].shape}",
                )
            judged.append(grad)
        roundoff = unit_roundoff(np.result_type(*judged))
        self.repeat_agrees(
            judged, [as_array(again[1].get(p[1][1]), "grads") for p in self.params], what, roundoff
        )
        estimates, sample = {}, case.rng(SAMPLE_STREAM)
        for path, grad in zip(self.params, judged):
            name = f"grads[{path[1][1]!r}]"
            estimates[name] = (
                grad,
                estimate_entries(
                    "derivative",
                    self._losses(model, X, y, path),
                    held[path],
                    dtype=precision(loss.dtype, held[path].dtype, grad.dtype),
                    rng=sample,
                ),
            )
            tensors.append(self.judge(name, grad, estimates[name][1], roundoff))

        def diagnose(name):
            grad, estimate = estimates[name]
            return signatures.diagnose(name, grad, estimate.value, batch=case.m, kink=estimate.kink)

        return self.verdict(case, tensors, judged, np.result_type(*judged), diagnose)

    def _losses(self, model, X, y, path):
        def values(points):
            losses = self.remote.outputs(
                model,
                "loss",
                [X, y],
                self.kwargs,
                ("param", path),
                points,
                select=0,
                what=f"{self.name}.loss (finite differences)",
            )
            return np.array([float(as_array(v, f"{self.name}.loss")) for v in losses])

        return values


def checker(interface, options, name, remote):
    style = interface.style
    if style == "pair":
        return PairChecker(options, name, remote, interface)
    if style == "model":
        return ModelChecker(options, name, remote, interface)
    return LayerChecker(options, name, remote, interface)


__all__ = ["LayerChecker", "ModelChecker", "PairChecker", "ShapeCase", "checker"]
