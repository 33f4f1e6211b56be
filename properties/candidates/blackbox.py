"""What layers, function pairs and models share: code judged by differences of its own forward pass.

No architecture is shared with these: the oracle is the finite-difference derivative of the
candidate's *own* forward (``oracles.finite_diff.vjp``) or loss (``finite_diff.derivative``),
evaluated in the worker at many points per round trip.  So a backward is right when it is the
vector-Jacobian product of the forward it sits beside, whatever that forward computes.  The
styles are ``layer``, ``pair`` and ``model`` (their modules); this one holds what they share:

* shapes declared with letters, each drawn per case (``N`` is the batch, at most ``--batch``):
  a layer's input ``--shape N,C,H,W`` (by default ``N,D`` in rows, or ``D,N`` in columns), a
  pair's ``--inputs "x=N,D w=D,M b=M"``, a model's ``X=N,D``; ``--dims N=2,D=3`` fixes letters;
* arrays drawn from the case's seed, representable at the candidate's precision;
* at most ENTRIES_PER_CASE entries of a tensor probed per case (a fresh sample each case);
* judging one tensor, the verdict, the diagnosis of a failure (on a larger copy of a tiny case),
  and the two-calls determinism check.

Randomness is held fixed (``worker``): dropout draws the same mask at every forward pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import finite_diff
from gradcert.properties.candidates.base import Checker
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.remote import Remote
from gradcert.properties.candidates.verdicts import CandidateFailure, NonFinite, as_array
from gradcert.properties.certify import Disagreement
from gradcert.properties.compare import Comparison, compare_tensor
from gradcert.properties.errors import TargetError, UsageError
from gradcert.properties.options import INTEGERS
from hypothesis import strategies as st

BATCH = "N"
LETTER_RANGE_2D = (1, 6)  # sizes of the other letters of a 2-D input: every entry is probed 4 times
LETTER_RANGE_ND = (1, 4)  # ... and of inputs of rank 3 or more (a 4-D input of 4^4 entries is 256 probes)
# Two calls on the same input may differ by a reordered sum: at most 2^10 ulps of the largest entry
# (far above any reordering of a few hundred terms of that size, far below a random perturbation).
REPEAT_ULPS = 2.0**10
# A certificate says so when the oracle resolved some tensor only to more than this fraction of its
# size: float64 finite differences of a smooth forward resolve ~u^(2/3) ~ 1e-11, float32 ones ~1e-5.
COARSE = 1e-3
DIAGNOSIS_SIZE = 3  # letters of the case a small failure is diagnosed on
# Entries of one tensor probed by finite differences per case (a fresh random sample each case, the
# rest left for other cases): bounds a case's cost at ~4 x 48 calls of the forward per tensor.
ENTRIES_PER_CASE = 48
SAMPLE_STREAM = 9  # the random stream of a case that picks the entries
PARAMS_STREAM = 3  # ... that draws the parameters gradcert sets (0: the first input, 1: labels)
DECOY_STREAM = 5  # ... that draws the input of a layer's decoy forward, before the one judged


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


# A size that is a whole multiple of a letter's, 4H: an LSTM's four gates side by side, Wx (D, 4H).
MULTIPLE = re.compile(r"^(\d+)([A-Za-z_]\w*)$")


def base_letter(part):
    """The drawn letter a size stands on: H of 4H, the letter itself, or a number as it is."""
    found = MULTIPLE.match(part)
    return found.group(2) if found else part


def shape_of(letters, dims):
    shape = []
    for p in letters:
        found = MULTIPLE.match(p)
        if p.isdigit():
            shape.append(int(p))
        else:
            shape.append(int(found.group(1)) * dims[found.group(2)] if found else dims[p])
    return tuple(shape)


# One case in WIDE_EVERY draws its Gaussian arrays WIDE_SCALE times wider: N(0, 1) leaves |x| > 3 to
# one entry in 370, so a backward that is wrong only for large inputs (a clip, a saturated branch
# handled wrongly) would pass a run; at N(0, 16) almost half the entries are past 3.
WIDE_EVERY, WIDE_SCALE = 8, 4.0


def drawn(case, shape, stream, *, zeros=True, dtype=np.float64, positive=False):
    """A Gaussian array of ``shape``, representable in ``dtype`` (the precision the candidate
    computes in); every fourth seed puts exact zeros in (ReLU's kink at 0), and one in WIDE_EVERY
    draws wider.  ``positive``: for a function defined on the positive numbers alone (a log, a
    square root), exp(N(0, 1/4)) entries instead, 0.22 to 4.5 within three standard deviations: far
    enough from 0 that no difference step reaches it, and never 0."""
    rng = case.rng(stream)
    a = rng.standard_normal(shape)
    if positive:
        return np.exp(0.5 * a).astype(dtype).astype(np.float64)
    if case.seed % WIDE_EVERY == WIDE_EVERY - 3:
        a *= WIDE_SCALE  # exact: a power of two
    if zeros and case.seed % 4 == 0:
        a[rng.random(shape) < 0.3] = 0.0
    return a.astype(dtype).astype(np.float64)


def returned_shape(value):
    """The shape of something a backward returns (None where it has none: a ragged list)."""
    try:
        return np.shape(value)
    except (ValueError, TypeError):
        return None


def mixed_signs(a):
    """``a`` with its first entry made negative: a probe of a forward's domain meets a number < 0
    whatever the draw (and on every size, one entry included)."""
    if a.size:
        a.flat[0] = -abs(a.flat[0]) or -1.0
    return a


def off_domain(failure, arrays):
    """Whether a forward's ``failure`` at ``arrays`` may be its domain's, not a bug: it returned a
    non-finite value or raised, at inputs of which some are <= 0 (a log, a square root)."""
    return ((isinstance(failure, NonFinite) or failure.verdict == "crashed")
            and any(np.any(np.asarray(a) <= 0) for a in arrays))


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
        self.positive = False  # inputs drawn positive: the forward is defined there alone (``domain``)

    def domain(self, failure, arrays, what):
        """After a forward's ``failure`` at drawn ``arrays``: whether to draw positive inputs from now
        on and call it again (``off_domain``), noted once; never twice, so that a forward failing at
        positive inputs too gets its verdict."""
        if self.positive or not off_domain(failure, arrays):
            return False
        self.positive = True
        self.note(
            f"{what} {'is not finite' if isinstance(failure, NonFinite) else 'raises'} at inputs <= 0 "
            f"({failure.message}): a function of positive inputs (a log, a square root?), so its inputs "
            "are drawn positive, exp(N(0, 1/4)), and its gradient is checked there alone"
        )
        return True

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

    def letter_strategy(self, letters, rank, minimums=None):
        """Cases of drawn sizes for ``letters`` (``minimums``: a letter's smallest size, where a
        smaller one means nothing, as one class)."""
        fixed = self.options.dims or {}
        low, high = LETTER_RANGE_2D if rank <= 2 else LETTER_RANGE_ND
        ranges = {}
        for letter in dict.fromkeys(base_letter(c) for c in letters):
            if letter.isdigit():
                continue
            if letter in fixed:
                ranges[letter] = st.just(fixed[letter])
            elif letter == BATCH:
                ranges[letter] = st.integers(1, max(1, self.options.batch))
            else:
                ranges[letter] = st.integers(max(low, (minimums or {}).get(letter, low)), high)
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
        letters = dict.fromkeys(base_letter(c) for c in self.letters)
        missing = [letter for letter in letters if not letter.isdigit() and letter not in dims]
        if missing:
            raise UsageError(f"--case-seed pins one case: give --dims for {', '.join(missing)}")
        return ShapeCase({k: dims[k] for k in letters if not k.isdigit()}, seed)

    def reproduce(self, case):
        return {"dims": dict(case.dims), "case_seed": case.seed, "examples": None, "seed": None}

    # -- judging one tensor
    def judge(self, name, candidate, estimate, roundoff, *, extra=None):
        """compare_tensor for a black box: the finite-difference error is the tolerance's core (it
        exceeds the candidate's own rounding, a few ulps of |oracle|, by ~10^5)."""
        error = estimate.error if extra is None else estimate.error + extra
        peak = float(np.nanmax(np.abs(estimate.value), initial=0.0))
        smooth = np.where(
            np.asarray(estimate.kink, bool), np.nan, error
        )  # at a kink any slope between is right
        if peak > 0 and np.any(np.isfinite(smooth)):  # how finely the oracle resolves the tensor, to its size
            self.resolution = max(self.resolution, float(np.nanmax(smooth)) / peak)
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
                f"resolved its gradients only to {100 * self.resolution:.2g}% of their size at worst (its "
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
            return self.signature_on(larger, tensor)
        finally:
            self._diagnosing = False

    def signature_on(self, case, tensor):
        """The diagnosis of ``case`` when it fails first on ``tensor`` with a signature, else None: another
        case, checked only as a help to a failure's diagnosis."""
        try:
            self.check(case)
        except Disagreement as failure:
            found = failure.diagnosis
            first = failure.comparisons[0].first_disagreement.name
            return found if found is not None and found.signature and first == tensor else None
        except Exception:  # noqa: BLE001 - only a help to the diagnosis
            return None
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


def _real_output(value, what):
    out = (
        as_array(value, f"{what} output")
        if not isinstance(value, np.ndarray) or value.dtype.kind != "c"
        else None
    )
    if out is None:
        raise CandidateFailure("invalid output", f"{what} returned complex values; a layer's output is real")
    return out


def _declared_inputs(text):
    """{name: letters} of --inputs ('x=N,T:int<V W=V,D' -> {'x': ('N', 'T'), 'W': ('V', 'D')})."""
    if not text:
        return None
    return {name: parse_letters(shape.partition(INTEGERS)[0])
            for name, _, shape in (word.partition("=") for word in text.split())}


def integer_inputs(text):
    """{name: bound} of the inputs --inputs declares as integers ('x=N,T:int<V' -> {'x': 'V'})."""
    return {name: shape.partition(INTEGERS)[2]
            for name, _, shape in (word.partition("=") for word in (text or "").split()) if INTEGERS in shape}


def drawn_indices(case, shape, stream, bound):
    """Integers from 0 to ``bound`` - 1 (indices into a table of ``bound`` rows), with an index
    repeated wherever there are two entries: a backward that assigns ``dW[x] = dout`` where the
    rows of repeated indices must add up (``np.add.at``) differs from the gradient only there."""
    a = case.rng(stream).integers(0, bound, shape)
    if a.size >= 2:
        a.flat[-1] = a.flat[0]
    return a


def checker(interface, options, name, remote):
    """The checker of a layer, a function pair or a model."""
    from gradcert.properties.candidates.layer import LayerChecker
    from gradcert.properties.candidates.model import ModelChecker
    from gradcert.properties.candidates.pair import PairChecker

    style = interface.style
    if style == "pair" and interface.loss:
        from gradcert.properties.candidates.loss_function import LossFunctionChecker

        return LossFunctionChecker(options, name, remote, interface)
    if style == "pair":
        return PairChecker(options, name, remote, interface)
    if style == "model" and interface.pair is not None:
        from gradcert.properties.candidates.function_model import FunctionModelChecker

        return FunctionModelChecker(options, name, remote, interface)
    if style == "model":
        return ModelChecker(options, name, remote, interface)
    return LayerChecker(options, name, remote, interface)
