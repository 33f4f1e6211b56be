"""Models with a loss method (cs231n's TwoLayerNet, FullyConnectedNet): ``loss(X, y) -> (loss, grads)``.

The model is built with ``--init``; its parameters are its ``params`` dict; X's shape is
declared (``--shape N,5``, or ``--inputs X=N,5``) or read off the first weight matrix; labels are
integers below the number of classes (from ``loss(X)``'s scores, or the last bias).  Each
``grads[k]`` is judged against differences of the model's own loss with respect to ``params[k]``.
"""

from __future__ import annotations

import numpy as np
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    SAMPLE_STREAM,
    BlackBox,
    ShapeCase,
    _declared_inputs,
    drawn,
    estimate_entries,
    parse_letters,
    precision,
    shape_of,
)
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.remote import TARGET, path_text
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import unit_roundoff
from gradcert.properties.errors import TargetError, UsageError


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
