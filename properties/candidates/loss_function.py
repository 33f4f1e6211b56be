"""cs231n's loss functions, a forward and a backward in one: ``NAME(...) -> (loss, grad)``.

``softmax_loss(x, y)`` and ``svm_loss(x, y)`` (layers.py: x the scores (N, C), y the labels,
grad = dloss/dx) and assignment 1's linear classifiers ``svm_loss_naive(W, X, y, reg)``,
``softmax_loss_vectorized(W, X, y, reg)`` (W (D, C), X (N, D): grad = dloss/dW).  The shapes are
told from the arguments' names (``--inputs`` declares others), the labels are drawn below C (the
last letter of the first array), a regularisation strength (``reg``) is 0.1 unless ``--kwargs``
gives it, and the gradient is judged against finite differences of the returned loss along the
argument whose gradient it is: the weights when there are any, else the scores.
"""

from __future__ import annotations

import numpy as np
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    SAMPLE_STREAM,
    BlackBox,
    _declared_inputs,
    drawn,
    estimate_entries,
    precision,
    shape_of,
)
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.remote import TARGET
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import unit_roundoff
from gradcert.properties.errors import UsageError

LABELS = ("y", "labels", "targets")
WEIGHTS = ("W", "w", "theta", "weights")
DATA = ("X", "x", "scores", "inputs")
STRENGTHS = ("reg", "lam", "lmbda", "lambda_", "l2", "reg_strength", "alpha")
STRENGTH = 0.1  # the regularisation strength passed: non-zero, so that its gradient is checked too


def is_loss_function(description):
    """A function named *loss* that takes labels and returns (loss, grad), as cs231n writes them."""
    params = parameters(description.get("call")) or []
    names = [p.name for p in params if p.required]
    return "loss" in (description.get("name") or "").lower() and any(n in LABELS for n in names) and any(
        n in WEIGHTS + DATA for n in names
    )


class LossFunctionChecker(BlackBox):
    style = "pair"
    part = "loss"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        params = parameters(interface.description.get("call")) or []
        self.arguments = [p.name for p in params if p.required and p.name not in self.kwargs]
        for p in params:
            if p.name in STRENGTHS and p.name not in self.kwargs and p.name in self.arguments:
                self.kwargs[p.name] = STRENGTH
                self.arguments.remove(p.name)
                self.note(f"{name} is called with {p.name}={STRENGTH} (--kwargs sets it)")
        declared = _declared_inputs(options.inputs) or {}
        weights = next((a for a in self.arguments if a in WEIGHTS), None)
        self.inputs, self.labels = [], None
        for a in self.arguments:
            if a in declared:
                self.inputs.append((a, declared[a]))
            elif a in LABELS:
                self.labels = a
            elif a in WEIGHTS:
                self.inputs.append((a, ("D", "C")))
            elif a in DATA:
                self.inputs.append((a, ("N", "D") if weights else ("N", "C")))
            else:
                raise UsageError(
                    f"{name}({', '.join(p.name for p in params)}): gradcert cannot tell what {a} is; "
                    'declare an array with --inputs (e.g. --inputs "W=D,C X=N,D") or give it with --kwargs'
                )
        extra = [a for a in declared if a not in self.arguments]
        if extra:
            raise UsageError(f"--inputs: {name} takes no argument {', '.join(extra)}")
        if self.labels is None or not self.inputs:
            raise UsageError(f"{name}: gradcert passes labels ({'/'.join(LABELS)}) and at least one array")
        self.judged = next((i for i, (a, _) in enumerate(self.inputs) if a in WEIGHTS), 0)
        self.classes = self.inputs[0][1][-1]  # the letter of the class dimension
        self.batch = next((s[0] for a, s in self.inputs if a in DATA), "N")
        self.letters = tuple(dict.fromkeys(c for _, shape in self.inputs for c in shape))
        self.checked(f"d{self.inputs[self.judged][0]}")

    def strategy(self):
        return self.letter_strategy(self.letters, max(len(s) for _, s in self.inputs), {self.classes: 2})

    def _call(self, arrays, labels):
        args = self._arguments(arrays, labels)
        what = self.name
        result = self.remote.call(TARGET, None, args, self.kwargs, what=what, fresh=True, mutable=True)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CandidateFailure(
                "invalid output", f"{what} returned {type(result).__name__}; expected (loss, grad)"
            )
        loss = as_array(result[0], f"{what}: the loss")
        grad = as_array(result[1], f"{what}: the gradient")
        expected = arrays[self.judged].shape
        if grad.shape != expected or loss.size != 1:
            raise CandidateFailure(
                "invalid output",
                f"{what} returned a loss of shape {loss.shape} and a gradient of shape {grad.shape}; "
                f"expected a number and d{self.inputs[self.judged][0]} of shape {expected}",
            )
        return loss, grad

    def _arguments(self, arrays, labels):
        given, args = iter(arrays), []
        for a in self.arguments:
            args.append(labels if a == self.labels else next(given))
        return args

    def check(self, case):
        arrays = [drawn(case, shape_of(shape, case.dims), i) for i, (_, shape) in enumerate(self.inputs)]
        n = case.dims.get(self.batch, 1) if not self.batch.isdigit() else int(self.batch)
        classes = case.dims[self.classes] if not self.classes.isdigit() else int(self.classes)
        labels = case.rng(len(arrays)).integers(0, classes, size=n)
        loss, grad = self._call(arrays, labels)
        _, again = self._call(arrays, labels)
        roundoff = unit_roundoff(grad.dtype)
        self.repeat_agrees([grad], [again], self.name, roundoff)
        name = f"d{self.inputs[self.judged][0]}"
        estimate = estimate_entries(
            "derivative", self._losses(arrays, labels), arrays[self.judged],
            dtype=precision(loss.dtype, grad.dtype), rng=case.rng(SAMPLE_STREAM),
        )
        tensors = [self.judge(name, grad, estimate, roundoff)]

        def diagnose(tensor):
            return signatures.diagnose(tensor, grad, estimate.value, batch=n, kink=estimate.kink)

        return self.verdict(case, tensors, [grad], grad.dtype, diagnose)

    def _losses(self, arrays, labels):
        index = self.arguments.index(self.inputs[self.judged][0])

        def values(points):
            losses = self.remote.outputs(
                TARGET, None, self._arguments(arrays, labels), self.kwargs, ("arg", index), points, select=0,
                what=f"{self.name} (finite differences)",
            )
            return np.array([float(as_array(v, f"{self.name}: the loss")) for v in losses])

        return values
