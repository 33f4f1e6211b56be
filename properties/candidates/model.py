"""Models with a loss method and a ``params`` dict, in two conventions:

* cs231n's (TwoLayerNet, FullyConnectedNet): ``loss(X, y) -> (loss, grads)``;
* Deep Learning from Scratch's (TwoLayerNet, MultiLayerNet): ``loss(x, t) -> loss`` and
  ``gradient(x, t) -> grads``, its layers built around the very arrays of ``params`` (so a
  parameter is changed in place, never rebound: ``worker._assign``).

The model is built with ``--init``; a constructor's required sizes gradcert can tell by name
(input_size, hidden_size, output_size, hidden_size_list, input_dim, num_classes, ...) are drawn,
as the letters D, H, K and C, unless ``--init`` gives them.  X's shape is declared (``--shape N,5``,
or ``--inputs X=N,5``), is (N, D) when the constructor takes D, or is read off the first weight
matrix; labels are integers below the number of classes (C, or from ``loss(X)``'s scores, or the
last bias).  Each ``grads[k]`` is judged against differences of the model's own loss with respect
to ``params[k]``.

A regularisation strength the model takes with a default -- cs231n's ``loss(X, y=None, reg=0.0)``
and ``FullyConnectedNet(..., reg=0.0)``, Deep Learning from Scratch's ``MultiLayerNet(...,
weight_decay_lambda=0)`` -- is passed as 0.1 or 0.35, by the case (``loss_function.STRENGTHS_DRAWN``),
unless ``--kwargs`` or ``--init`` gives it: at its default of 0 the penalty's gradient would never be
checked, and with one value a strength written into the gradient as a number would pass.
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles import guards
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    PARAMS_STREAM,
    SAMPLE_STREAM,
    BlackBox,
    ShapeCase,
    _declared_inputs,
    base_letter,
    drawn,
    estimate_entries,
    parse_letters,
    precision,
    shape_of,
)
from gradcert.properties.candidates.history import Constancy, history_agrees
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.layer import TRAINING_NAMES
from gradcert.properties.candidates.loss_function import STRENGTHS, STRENGTHS_DRAWN
from gradcert.properties.candidates.remote import TARGET, path_text
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import Comparison, unit_roundoff
from gradcert.properties.errors import TargetError, UsageError

# What a constructor's required argument is, from its name: the letter gradcert draws for it.
_INPUT = ("input", "n_in", "in_dim", "in_features", "fan_in", "n_features", "num_features")
_CLASSES = ("class", "output", "n_out", "out_dim", "out_features", "n_labels", "num_labels")
_HIDDEN = ("hidden", "n_h", "width", "units", "neurons")
_LISTS = ("list", "dims", "sizes", "layers", "widths")
HIDDEN_LETTERS = ("H", "K")  # a list of hidden widths is drawn as two layers
PROBE_DIMS = {"D": 4, "H": 5, "K": 3, "C": 3}  # the build that finds params: distinct sizes, no square W


def _constructor_letter(name):
    """The letter (or a tuple of letters, for a list of widths) a constructor argument is drawn
    as, or None when its name does not say which size it is."""
    lowered = name.lower()
    if any(part in lowered for part in _HIDDEN):
        return HIDDEN_LETTERS if any(lowered.endswith(end) for end in _LISTS) else "H"
    if any(part in lowered for part in _INPUT):
        return "D"
    if any(part in lowered for part in _CLASSES):
        return "C"
    return None


# A model's strength names: the loss functions' and Deep Learning from Scratch's
MODEL_STRENGTHS = STRENGTHS + ("weight_decay_lambda", "weight_decay", "decay")


class ModelChecker(BlackBox):
    """Models with self.params: cs231n's loss(X, y) -> (loss, grads), or Deep Learning from
    Scratch's loss(x, t) -> loss with gradient(x, t) -> grads; labels are integers."""

    style = "model"
    part = "loss"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        methods = interface.description.get("methods") or {}
        # Deep Learning from Scratch: the gradient has a method of its own, gradient(x, t), and the
        # loss is a number; a gradient method of another signature is not that one
        takes = [p for p in parameters(methods.get("gradient")) or [] if p.required]
        self.gradient = "gradient" if len(takes) == 2 else None
        if self.gradient is not None:
            self.part = "gradient"
        self._callable_with("loss", 2, "X and y")
        self._training_flags(methods)
        self.constructor = self._constructor()
        self.strengths = self._strengths(methods)  # [(where, name)]: "init" or a method, drawn per case
        self.unregularised = False  # diagnosing a failure at strength 0 (``_larger_diagnosis``)
        model = self._build(PROBE_DIMS)
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
        if self.x_letters is None and "D" in self._drawn_letters():
            self.x_letters = ("N", "D")
        if self.x_letters is None:
            first = next(held[p] for p in self.params if held[p].ndim == 2)
            self.x_letters = ("N", str(first.shape[0]))
            self.note(
                f"X is (N, {first.shape[0]}): the first dimension of {path_text(self.params[0])}; "
                "--inputs X=... fixes it"
            )
        self.letters = self.x_letters + tuple(c for c in self._drawn_letters() if c not in self.x_letters)
        self.classes = None if "C" in self.letters else self._classes(model, held)
        self.remote.release(model)
        self.guard = self._find_guard(methods, held)
        self.guard_seen = False  # a case the guard explained (its gradient failed the loss as written)
        self.checked(*(f"grads[{p[1][1]!r}]" for p in self.params))
        self.constancy = Constancy()
        self.note(
            f"{self.name}'s params are drawn for each case (weights N(0, 1/fan-in), the rest N(0, 1/4)), "
            "in place: its own initial values may be too small for finite differences to resolve"
        )

    def _training_flags(self, methods):
        """Deep Learning from Scratch's gradient(x, t) runs loss(x, t, train_flg=True): the loss (and
        predict) it differentiates is the training one, so they are called so too."""
        self.method_kwargs = {}
        for method in ("loss", "predict", "gradient"):
            if method not in methods:
                continue
            params = parameters(methods.get(method))
            if params is None:  # Python could not tell: everything --kwargs gives
                self.method_kwargs[method] = dict(self.kwargs)
                continue
            names = {p.name for p in params}
            anything = any(p.kind == "VAR_KEYWORD" for p in params)
            given = {k: v for k, v in self.kwargs.items() if anything or k in names}
            flag = next((p.name for p in params if p.name in TRAINING_NAMES), None)
            if self.gradient is not None and method != "gradient" and flag and flag not in given:
                given[flag] = True
                if method == "loss":
                    self.note(
                        f"loss is called with {flag}=True, as gradient() calls it (training mode); "
                        "--kwargs sets it"
                    )
            self.method_kwargs[method] = given
        for key in self.kwargs:
            if not any(key in kwargs for kwargs in self.method_kwargs.values()):
                raise UsageError(f"--kwargs: no method of {self.name} takes {key!r}")

    def _find_guard(self, methods, held):
        """The delta the loss adds inside its log (``oracles.guards``), read off two batches through
        ``predict(x)``, or None (no predict, scores that are not (N, classes), no guard)."""
        if self.gradient is None or parameters(methods.get("predict")) is None:
            return None
        model = self._build(PROBE_DIMS)
        dims = {c: PROBE_DIMS.get(c, 3) for c in map(base_letter, self.letters) if not c.isdigit()}
        classes = dims["C"] if self.classes is None else self.classes
        batches, roundoff = [], 0.0
        try:
            for seed in (0, 1):
                X = drawn(ShapeCase(dims, seed), shape_of(self.x_letters, dims), 0)
                t = ShapeCase(dims, seed).rng(1).integers(0, classes, size=X.shape[0])
                loss = as_array(self._call(model, "loss", [X, t]), f"{self.name}.loss")
                scores = as_array(self._call(model, "predict", [X]), f"{self.name}.predict")
                if scores.shape != (X.shape[0], classes) or loss.size != 1:
                    return None
                roundoff = max(roundoff, unit_roundoff(loss.dtype), unit_roundoff(scores.dtype))
                batches.append((loss, scores, t))
        except CandidateFailure:
            return None  # predict is not what it seems: the loss is judged as it is
        finally:
            self.remote.release(model)
        return guards.find(batches, roundoff, sum(held[p].size for p in self.params))

    def _strengths(self, methods):
        """The regularisation strengths gradcert passes, drawn per case (the module docstring): a
        constructor's or a method's parameter of a strength's name with a default, which neither
        --init nor --kwargs gives."""
        found = []
        if self.interface.description.get("what") != "instance":
            for p in parameters(self.interface.description.get("call")) or []:
                if p.name in MODEL_STRENGTHS and p.has_default and p.name not in (self.options.init or {}):
                    found.append(("init", p.name))
        for method in ("loss", "gradient"):
            for p in parameters(methods.get(method)) or []:
                if p.name in MODEL_STRENGTHS and p.has_default and p.name not in self.kwargs:
                    found.append((method, p.name))
        for where, name in found:
            shown = f"{self.name} is built" if where == "init" else f"{self.name}.{where}() is called"
            self.note(f"{shown} with {name}={' or '.join(map(str, STRENGTHS_DRAWN))}, one per case, so that "
                      f"its penalty is checked too ({'--init' if where == 'init' else '--kwargs'} sets it)")
        return found

    def _strength(self, case):
        if self.unregularised:
            return 0.0
        return STRENGTHS_DRAWN[case.seed % len(STRENGTHS_DRAWN)] if case is not None else STRENGTHS_DRAWN[0]

    def _larger_diagnosis(self, case, tensor):
        """A bug of the data term (a sum where the mean belongs, a mask left out) has its signature in
        the gradient at strength 0 only: the penalty's term hides it.  Where the failing case names
        none, the same case at strength 0 is diagnosed, when it fails there too."""
        found = super()._larger_diagnosis(case, tensor)
        if (found is not None and found.signature) or not self.strengths or self.unregularised:
            return found
        self.unregularised = True
        try:
            return self.signature_on(case, tensor) or found
        finally:
            self.unregularised = False

    def _call(self, model, method, args):
        what = f"{self.name}.{method}"
        return self.remote.call(
            model, method, args, self.method_kwargs[method], what=what, fresh=True, mutable=True
        )

    def _constructor(self):
        """{argument: letter or letters} for the constructor's required arguments --init leaves out;
        TargetError (exit 2) for one whose name says no size."""
        if self.interface.description.get("what") == "instance":
            return {}
        given = set(self.options.init or {})
        params = parameters(self.interface.description.get("call")) or []
        needed = [p for p in params if p.required and p.name not in given]
        letters = {p.name: _constructor_letter(p.name) for p in needed}
        unknown = [name for name, letter in letters.items() if letter is None]
        if unknown:
            raise TargetError(
                f"{self.name}({', '.join(p.name for p in params)}): gradcert draws a model's input, hidden "
                f"and output sizes, but cannot tell what {', '.join(unknown)} is; give it with --init "
                "(JSON), e.g. --init '{" + ", ".join(f'"{n}": ...' for n in unknown) + "}'"
            )
        if letters:
            shown = (
                f"{n}=[{', '.join(v)}]" if isinstance(v, tuple) else f"{n}={v}" for n, v in letters.items()
            )
            self.note(f"{self.name} is built with {', '.join(shown)} drawn; --init fixes them")
        return letters

    def _drawn_letters(self):
        return tuple(
            dict.fromkeys(c for v in self.constructor.values() for c in (v if isinstance(v, tuple) else (v,)))
        )

    def _build(self, dims, case=None):
        init = dict(self.options.init or {})
        for where, name in self.strengths:
            if where == "init":
                init[name] = self._strength(case)
            else:
                self.method_kwargs[where][name] = self._strength(case)
        for argument, letter in self.constructor.items():
            init[argument] = [dims[c] for c in letter] if isinstance(letter, tuple) else dims[letter]
        shown = ", ".join(f"{k}={v!r}" for k, v in init.items())
        return self.remote.call(TARGET, None, [], init, keep="handle", what=f"{self.name}({shown})")

    def _classes(self, model, held):
        """The number of classes: from loss(X)'s scores when y is optional, else the last bias's size."""
        dims = {c: PROBE_DIMS.get(c, 2) for c in map(base_letter, self.x_letters) if not c.isdigit()}
        X = drawn(ShapeCase(dims, 0), shape_of(self.x_letters, dims), 0)
        loss = parameters((self.interface.description.get("methods") or {}).get("loss")) or []
        if len(loss) >= 2 and loss[1].has_default:
            scores = as_array(
                self.remote.call(
                    model, "loss", [X], self.method_kwargs["loss"], what=f"{self.name}.loss(X)", fresh=True,
                    mutable=True,
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
        return self.letter_strategy(self.letters, len(self.x_letters), {"C": 2})  # one class: no softmax

    def _loss_and_grads(self, model, X, y):
        """(loss, grads) as the candidate gives them: loss(X, y), or loss(x, t) and gradient(x, t)."""
        what = f"{self.name}.loss"
        if self.gradient is not None:
            grads = self._call(model, "gradient", [X, y])
            if not isinstance(grads, dict):
                raise CandidateFailure(
                    "invalid output",
                    f"{self.name}.gradient(x, t) returned {type(grads).__name__}; expected a dict",
                )
            return as_array(self._call(model, "loss", [X, y]), f"{what}(x, t)"), grads
        result = self._call(model, "loss", [X, y])
        if not isinstance(result, (tuple, list)) or len(result) != 2 or not isinstance(result[1], dict):
            raise CandidateFailure(
                "invalid output",
                f"{what}(X, y) returned {type(result).__name__}; expected (loss, grads) with grads a dict",
            )
        return as_array(result[0], f"{what}: the loss"), result[1]

    def _draw_params(self, model, case):
        """Each parameter drawn for the case, in place: weights (2-D and up) N(0, 1/fan-in), fan-in
        their first dimension, the rest N(0, 1/4).  A model's own initial values are often tiny
        (std 0.01, 1e-4), and a loss barely moved by its first layer gives gradients there that
        finite differences of the loss resolve only to a few per cent."""
        rng, made = case.rng(PARAMS_STREAM), self.remote.snapshot(model, what=f"reading {self.name}.params")
        for path in self.params:
            shape, dtype = made[path].shape, made[path].dtype
            scale = 1.0 / np.sqrt(shape[0]) if len(shape) >= 2 and shape[0] else 0.5
            value = (scale * rng.standard_normal(shape)).astype(dtype)
            self.remote.assign(model, path, value, what=f"setting {self.name}.{path_text(path)}")

    def check(self, case):
        model = self._build(case.dims, case)
        self._draw_params(model, case)
        X = drawn(case, shape_of(self.x_letters, case.dims), 0)
        classes = case.dims["C"] if self.classes is None else self.classes
        y = case.rng(1).integers(0, classes, size=X.shape[0])
        what = f"{self.name}.{self.gradient or 'loss'}"
        loss, grads = self._loss_and_grads(model, X, y)
        self.constancy.saw(loss)
        held = self.remote.snapshot(model, what=f"reading {self.name}.params")
        again = self._loss_and_grads(model, X, y)
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
        # Against the loss as written, then (when a guard was found) without its guard; once the
        # guard has explained a case, without it first.
        order = (None, self.guard) if not self.guard_seen else (self.guard, None)
        tensors, estimates = self._judged(case, model, X, y, held, judged, loss, roundoff, order[0])
        if self.guard is not None and not Comparison("finite-diff", tensors).agrees:
            other = self._judged(case, model, X, y, held, judged, loss, roundoff, order[1])
            if Comparison("finite-diff", other[0]).agrees:
                tensors, estimates = other
                self.guard_seen = self.guard_seen or order[1] is not None
            elif order[0] is not None:
                tensors, estimates = other  # a failure is reported against the loss as written
        if self.guard_seen:
            self.note(
                    f"{self.name}.loss adds {self.guard:.3g} inside its log, -log(y + {self.guard:.3g}): "
                    "its gradient is that of the loss without it (the backward's (y - t) / N), which "
                    "it was judged against; against the loss as written it is off by up to "
                    f"{self.guard:.1g} / y relative"
                )

        def diagnose(name):
            grad, estimate = estimates[name]
            return signatures.diagnose(name, grad, estimate.value, batch=case.m, kink=estimate.kink)

        comparisons = self.verdict(case, tensors, judged, np.result_type(*judged), diagnose)
        first = self.params[0]
        history_agrees(
            self._losses(model, X, y, first, self.guard if self.guard_seen else None), held[first],
            f"{self.name}.loss", dtype=precision(loss.dtype, held[first].dtype),
        )
        return comparisons

    def close(self):
        super().close()
        still = self.constancy.still()
        if self.constancy.constant():
            self.vacuous = (
                f"the loss of {self.name} is constant ({self.constancy.shown_values()}, whatever its "
                "params are): nothing was checked but a zero gradient -- is it a stub?"
            )
        elif still:
            self.unmoved = (
                f"the loss of {self.name} never changed with {', '.join(s[6:-1] for s in still)} on any "
                f"case: {', '.join(still)} {'was' if len(still) == 1 else 'were'} checked only to be zero"
            )

    def _judged(self, case, model, X, y, held, judged, loss, roundoff, guard):
        """Each tensor judged against the finite differences of the loss (with ``guard``, of the loss
        with that guard taken out: ``oracles.guards``), on the same sample of entries."""
        tensors, estimates, sample = [], {}, case.rng(SAMPLE_STREAM)
        for path, grad in zip(self.params, judged):
            name = f"grads[{path[1][1]!r}]"
            estimates[name] = (
                grad,
                estimate_entries(
                    "derivative",
                    self.constancy.watch(name, self._losses(model, X, y, path, guard)),
                    held[path],
                    dtype=precision(loss.dtype, held[path].dtype, grad.dtype),
                    rng=sample,
                ),
            )
            tensors.append(self.judge(name, grad, estimates[name][1], roundoff))
        return tensors, estimates

    def _losses(self, model, X, y, path, guard=None):
        def outputs(method, args, select):
            return self.remote.outputs(
                model,
                method,
                args,
                self.method_kwargs[method],
                ("param", path),
                points,
                select=select,
                what=f"{self.name}.{method} (finite differences)",
            )

        def values(at):
            nonlocal points
            points = at
            losses = outputs("loss", [X, y], None if self.gradient else 0)
            losses = np.array([float(as_array(v, f"{self.name}.loss")) for v in losses])
            if guard is None:
                return losses
            scores = [as_array(s, f"{self.name}.predict") for s in outputs("predict", [X], None)]
            return guards.unguarded(losses, scores, y, guard)

        points = None
        return values
