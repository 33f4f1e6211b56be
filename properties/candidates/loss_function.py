"""Functions that return a loss and its gradient in one: ``NAME(...) -> (loss, grad)``.

* cs231n's ``softmax_loss(x, y)`` and ``svm_loss(x, y)`` (layers.py: x the scores (N, C), y the
  labels, grad = dloss/dx), assignment 3's ``temporal_softmax_loss(x, y, mask)`` (x (N, T, C), y
  and a boolean mask (N, T), about a quarter of it False) and assignment 1's linear classifiers
  ``svm_loss_naive(W, X, y, reg)``, ``softmax_loss_vectorized(W, X, y, reg)`` (W (D, C), X (N, D):
  grad = dloss/dW);
* the Coursera machine-learning exercises' cost functions over an unrolled parameter vector, as
  scipy.optimize takes them: ``costFunction(theta, X, y)``, ``lrCostFunction(theta, X, y,
  lambda_)``, ``linearRegCostFunction(X, y, theta, lambda_)`` (theta (D,), X (N, D), labels 0 or
  1) and ex4's ``nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y,
  lambda_)`` (nn_params the two weight matrices unrolled, H (D + 1) + K (H + 1) numbers; labels
  between 1 and K - 1, right whether the code counts classes from 0 or, as MATLAB does, from 1).

The shapes are told from the arguments' names (``--inputs`` declares others), the layer sizes
too (a name with input, hidden, or labels/classes/output in it), the labels are drawn below the
number of classes, a regularisation strength (``reg``, ``lambda_``) is 0.1 unless ``--kwargs``
gives it, and the gradient is judged against finite differences of the returned loss along the
argument whose gradient it is: the parameters when there are any, else the scores.  A function
of this shape that returns the loss alone has no gradient to check: exit 2.
"""

from __future__ import annotations

import numpy as np
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    SAMPLE_STREAM,
    BlackBox,
    ShapeCase,
    _declared_inputs,
    base_letter,
    drawn,
    estimate_entries,
    precision,
    shape_of,
)
from gradcert.properties.candidates.history import Constancy, history_agrees
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.remote import TARGET
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import unit_roundoff
from gradcert.properties.errors import TargetError, UsageError

LABELS = ("y", "labels", "targets", "Y", "y_in", "y_train", "y_batch", "Y_batch", "y_true")
MASKS = ("mask", "masks")  # cs231n's temporal_softmax_loss(x, y, mask): which labels count
WEIGHTS = ("W", "w", "weights")
# an unrolled parameter vector ("params" is often a dict, "t" Deep Learning from Scratch's labels: neither)
VECTORS = ("theta", "nn_params", "thetas", "initial_theta", "Theta")
DATA = ("X", "x", "scores", "inputs", "X_in", "x_in", "X_train", "X_batch", "x_batch")
STRENGTHS = ("reg", "lam", "lmbda", "lambda_", "l2", "reg_strength", "alpha", "Lambda", "lambd", "lamb",
             "lambda_in", "lambda_reg", "lamda")
# The regularisation strengths passed, one per case by its seed: non-zero, so that the penalty's
# gradient is checked too, and two of them, so that a gradient with the strength written in as a
# number (0.2 W for 2 reg W at reg = 0.1) is caught on the other one.
STRENGTHS_DRAWN = (0.1, 0.35)
STRENGTH = STRENGTHS_DRAWN[0]
UNROLLED = "P"  # the letter of an unrolled parameter vector's length, H (D + 1) + K (H + 1)
PROBE_DIMS = {"N": 3, "D": 3, "H": 4, "K": 3, "C": 3}


def _size_letter(name):
    """The layer size an integer argument is, from its name (nnCostFunction's), or None."""
    lowered = name.lower()
    if "input" in lowered:
        return "D"
    if "hidden" in lowered:
        return "H"
    if any(word in lowered for word in ("label", "class", "output")):
        return "K"
    return None


def is_loss_function(description):
    """A function named *loss* or *cost* that takes labels and an array (cs231n's, Coursera's)."""
    params = parameters(description.get("call")) or []
    names = [p.name for p in params if p.required]
    called = (description.get("name") or "").lower()
    return (
        ("loss" in called or "cost" in called)
        and any(n in LABELS for n in names)
        and any(n in WEIGHTS + VECTORS + DATA for n in names)
    )


class LossFunctionChecker(BlackBox):
    style = "pair"
    part = "loss"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        params = parameters(interface.description.get("call")) or []
        self.arguments = [p.name for p in params if p.required and p.name not in self.kwargs]
        self.strength = None  # the regularisation strength's name, where gradcert chooses it
        for p in params:
            # a strength with a default of 0 (lambda_=0.0) too: at 0 its gradient would go unchecked
            if p.name in STRENGTHS and p.name not in self.kwargs and p.kind != "POSITIONAL_ONLY":
                self.kwargs[p.name] = STRENGTH
                self.strength = p.name
                if p.name in self.arguments:
                    self.arguments.remove(p.name)
                self.note(f"{name} is called with {p.name}={' or '.join(map(str, STRENGTHS_DRAWN))}, one per "
                          "case (--kwargs sets it)")
        declared = _declared_inputs(options.inputs) or {}
        weights = next((a for a in self.arguments if a in WEIGHTS), None)
        vector = next((a for a in self.arguments if a in VECTORS and a not in declared), None)
        sized = [a for a in self.arguments if vector and a not in declared and _size_letter(a)]
        self.sizes = {a: _size_letter(a) for a in sized}  # nnCostFunction's layer sizes, passed as ints
        self.unrolled = vector is not None and set(self.sizes.values()) >= {"D", "H", "K"}
        self.inputs, self.labels, self.mask = [], None, None
        for a in self.arguments:
            if a in declared:
                self.inputs.append((a, declared[a]))
            elif a in LABELS:
                self.labels = a
            elif a in MASKS:
                self.mask = a
            elif a in self.sizes:
                continue
            elif a == vector:
                self.inputs.append((a, (UNROLLED,) if self.unrolled else ("D",)))
            elif a in WEIGHTS:
                self.inputs.append((a, ("D", "C")))
            elif a in DATA:
                # scores (N, C); with a mask over the labels, a sequence's, (N, T, C)
                masked = any(m in self.arguments for m in MASKS)
                self.inputs.append((a, ("N", "D") if weights or vector else ("N", "T", "C") if masked
                                    else ("N", "C")))
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
        self.judged = next((i for i, (a, _) in enumerate(self.inputs) if a in WEIGHTS or a == vector), 0)
        # the number of classes: the layer size K, the last letter of W or of the scores, or two (0 or 1)
        self.classes = "K" if self.unrolled else "2" if vector else self.inputs[0][1][-1]
        self.batch = next((s[0] for a, s in self.inputs if a in DATA), "N")
        # the labels' shape: the batch's, or the scores' but their last axis where there are no weights
        # (temporal_softmax_loss's x (N, T, V) has labels (N, T))
        scores = self.inputs[0][1] if not (weights or vector) else None
        self.label_shape = tuple(scores[:-1]) if scores is not None and len(scores) > 2 else (self.batch,)
        letters = [base_letter(c) for _, shape in self.inputs for c in shape if c != UNROLLED] + list(
            self.sizes.values())
        self.letters = tuple(dict.fromkeys(letters))
        self.checked(f"d{self.inputs[self.judged][0]}")
        self.constancy = Constancy()
        if vector is not None:
            self._probe()

    def _probe(self):
        """Coursera's cost functions come with and without a gradient: one that returns the cost alone
        (its gradient a function of its own) has nothing here to check -- exit 2, before any verdict."""
        case = ShapeCase({c: PROBE_DIMS.get(c, 3) for c in self.letters if not c.isdigit()}, 0)
        arrays, labels, sizes = self._draw(case)
        result = self.remote.call(TARGET, None, self._arguments(arrays, labels, sizes), self.kwargs,
                                  what=self.name, fresh=True, mutable=True)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TargetError(
                f"{self.name} returned {type(result).__name__}, not (cost, grad): gradcert checks a cost "
                "function that returns its gradient too (scipy.optimize.minimize's jac=True)"
            )

    def strategy(self):
        rank = max(len(s) for _, s in self.inputs)
        return self.letter_strategy(self.letters, rank, {self.classes: 3 if self.unrolled else 2})

    def _draw(self, case):
        """(arrays, labels, sizes) of a case: an unrolled vector's length from the layer sizes."""
        dims = dict(case.dims)
        if self.unrolled:
            d, h, k = (dims[c] for c in ("D", "H", "K"))
            dims[UNROLLED] = h * (d + 1) + k * (h + 1)
        arrays = [drawn(case, shape_of(shape, dims), i) for i, (_, shape) in enumerate(self.inputs)]
        shape = tuple(dims.get(c, 1) if not c.isdigit() else int(c) for c in self.label_shape)
        classes = dims[self.classes] if not self.classes.isdigit() else int(self.classes)
        low = 1 if self.unrolled else 0  # classes counted from 0 or from 1: labels valid either way
        labels = case.rng(len(arrays)).integers(low, max(low + 1, classes), size=shape)
        sizes = {a: dims[letter] for a, letter in self.sizes.items()}  # passed as they are, as a mask:
        if self.mask is not None:  # about one label in four left out, and never all of them
            mask = case.rng(len(arrays) + 1).random(shape) < 0.75
            mask.flat[0] = True
            sizes[self.mask] = mask
        return arrays, labels, sizes

    def _call(self, arrays, labels, sizes):
        args = self._arguments(arrays, labels, sizes)
        what = self.name
        result = self.remote.call(TARGET, None, args, self.kwargs, what=what, fresh=True, mutable=True)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CandidateFailure(
                "invalid output", f"{what} returned {type(result).__name__}; expected (loss, grad)"
            )
        loss = as_array(result[0], f"{what}: the loss")
        grad = as_array(result[1], f"{what}: the gradient")
        expected = arrays[self.judged].shape
        if grad.shape != expected and grad.size == int(np.prod(expected)) and len(expected) == 1:
            grad = grad.reshape(expected)  # a column for a flat vector: scipy flattens it too
        if grad.shape != expected or loss.size != 1:
            raise CandidateFailure(
                "invalid output",
                f"{what} returned a loss of shape {loss.shape} and a gradient of shape {grad.shape}; "
                f"expected a number and d{self.inputs[self.judged][0]} of shape {expected}",
            )
        return loss, grad

    def _arguments(self, arrays, labels, sizes):
        given, args = iter(arrays), []
        for a in self.arguments:
            args.append(labels if a == self.labels else sizes[a] if a in sizes else next(given))
        return args

    def check(self, case):
        if self.strength is not None:
            self.kwargs[self.strength] = STRENGTHS_DRAWN[case.seed % len(STRENGTHS_DRAWN)]
        arrays, labels, sizes = self._draw(case)
        n = len(labels)
        loss, grad = self._call(arrays, labels, sizes)
        _, again = self._call(arrays, labels, sizes)
        roundoff = unit_roundoff(grad.dtype)
        self.repeat_agrees([grad], [again], self.name, roundoff)
        name = f"d{self.inputs[self.judged][0]}"
        dtype = precision(loss.dtype, grad.dtype)
        self.constancy.saw(loss)
        estimate = estimate_entries(
            "derivative", self.constancy.watch(name, self._losses(arrays, labels, sizes)),
            arrays[self.judged], dtype=dtype, rng=case.rng(SAMPLE_STREAM),
        )
        tensors = [self.judge(name, grad, estimate, roundoff)]

        def diagnose(tensor):
            return signatures.diagnose(tensor, grad, estimate.value, batch=n, kink=estimate.kink)

        comparisons = self.verdict(case, tensors, [grad], grad.dtype, diagnose)
        history_agrees(self._losses(arrays, labels, sizes), arrays[self.judged], self.name, dtype=dtype)
        return comparisons

    def close(self):
        super().close()
        if self.constancy.constant():
            judged = self.inputs[self.judged][0]
            self.vacuous = (
                f"the loss of {self.name} is constant ({self.constancy.shown_values()}, whatever {judged} "
                "is): nothing was checked but a zero gradient -- is it a stub?"
            )

    def _losses(self, arrays, labels, sizes):
        index = self.arguments.index(self.inputs[self.judged][0])

        def values(points):
            losses = self.remote.outputs(
                TARGET, None, self._arguments(arrays, labels, sizes), self.kwargs, ("arg", index), points,
                select=0,
                what=f"{self.name} (finite differences)",
            )
            return np.array([float(as_array(v, f"{self.name}: the loss")) for v in losses])

        return values
