"""deeplearning.ai's whole network, as functions: ``L_model_forward(X, parameters) -> (AL, caches)``
and ``L_model_backward(AL, Y, caches) -> grads``.

The course's assignment ("Building your Deep Neural Network: Step by Step") writes an L-layer
network as a pair of functions over a dict of parameters W1, b1, ..., WL, bL (W_l of shape (n_l,
n_{l-1}), b_l of (n_l, 1); columns are examples; ReLU hidden layers and sigmoid outputs), and
differentiates the cost J = -(1/m) sum (Y log AL + (1 - Y) log(1 - AL)): grads['dW1'], grads['db1'],
... are dJ/dW1, dJ/db1, ....  gradcert draws the widths (X is (D, N); hidden layers of H and K
units; C output units), the parameters and the 0/1 labels, and judges each grads['dW<l>'] and
grads['db<l>'] against finite differences of J (``oracles.losses``) of the forward's own outputs
along that parameter.  grads['dA<l>'] are the backward's intermediate values (of the summed loss,
not of J): they are not judged.
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles import losses
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    PARAMS_STREAM,
    SAMPLE_STREAM,
    BlackBox,
    _real_output,
    drawn,
    estimate_entries,
    precision,
)
from gradcert.properties.candidates.history import Constancy, history_agrees
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.remote import PARTNER, TARGET
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import unit_roundoff
from gradcert.properties.errors import UsageError

WIDTHS = ("D", "H", "K", "C")  # the layer sizes drawn: input, two hidden layers, output


class FunctionModelChecker(BlackBox):
    style = "model"
    part = "backward"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        self.forward_name, self.backward_name = interface.pair
        flags = (("--init", options.init), ("--shape", options.shape), ("--inputs", options.inputs),
                 ("--params", options.params))
        given = [flag for flag, value in flags if value]
        if given:
            raise UsageError(
                f"{', '.join(given)}: {self.forward_name}(X, parameters) is given X of (D, N) and a "
                "parameters dict that gradcert draws; leave them out (--dims D=...,H=...,K=...,C=... "
                "fixes the sizes)"
            )
        accepted = {p.name for p in parameters(interface.description.get("call")) or []}
        unknown = sorted(set(self.kwargs) - accepted)
        if unknown:
            raise UsageError(f"--kwargs: {self.forward_name} takes no {', '.join(unknown)}")
        self.letters = ("D", "N", "H", "K", "C")
        self.note(
            f"{self.forward_name} is given X (D, N) and parameters W1, b1, W2, b2, W3, b3 drawn (ReLU "
            "layers of H and K units, C sigmoid outputs): grads['dW<l>'], grads['db<l>'] are judged as "
            "the gradient of J = -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)); grads['dA<l>'] are not"
        )
        self.checked(*(f"grads['d{k}{layer}']" for layer in (1, 2, 3) for k in ("W", "b")))
        self.constancy = Constancy()

    def strategy(self):
        return self.letter_strategy(self.letters, 2)

    def _parameters(self, case):
        sizes = [case.dims[c] for c in WIDTHS]
        rng, drawn_parameters = case.rng(PARAMS_STREAM), {}
        for layer in range(1, len(sizes)):
            n_in, n_out = sizes[layer - 1], sizes[layer]
            drawn_parameters[f"W{layer}"] = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
            drawn_parameters[f"b{layer}"] = 0.5 * rng.standard_normal((n_out, 1))
        return drawn_parameters

    def _run(self, X, Y, params):
        forward = f"{self.name} ({self.forward_name})"
        out, cache = self.remote.call(
            TARGET, None, [X, params], self.kwargs, keep="pair", what=forward, fresh=True, mutable=True
        )
        AL = _real_output(out, forward)
        if AL.shape != Y.shape:
            raise CandidateFailure(
                "invalid output", f"{forward} returned AL of shape {AL.shape}; expected {Y.shape} (C, N)"
            )
        backward = f"{self.name} ({self.backward_name})"
        grads = self.remote.call(PARTNER, None, [AL, Y, cache], {}, what=backward, mutable=True)
        if not isinstance(grads, dict):
            raise CandidateFailure(
                "invalid output", f"{backward} returned {type(grads).__name__}; expected a dict of grads"
            )
        judged = []
        for key, value in params.items():
            if f"d{key}" not in grads:
                raise CandidateFailure("invalid output", f"{backward}: grads has no entry 'd{key}'")
            grad = as_array(grads[f"d{key}"], f"{backward}: grads['d{key}']")
            if grad.shape != value.shape:
                raise CandidateFailure(
                    "invalid output",
                    f"{backward}: grads['d{key}'] has shape {grad.shape}; expected {value.shape}, {key}'s",
                )
            judged.append(grad)
        return AL, judged

    def check(self, case):
        params = self._parameters(case)
        X = drawn(case, (case.dims["D"], case.dims["N"]), 0)
        Y = case.rng(1).integers(0, 2, size=(case.dims["C"], case.dims["N"])).astype(np.float64)
        AL, judged = self._run(X, Y, params)
        _, again = self._run(X, Y, params)
        roundoff = unit_roundoff(np.result_type(*judged))
        self.repeat_agrees(judged, again, f"{self.name} ({self.backward_name})", roundoff)
        tensors, estimates, sample = [], {}, case.rng(SAMPLE_STREAM)
        for key, grad in zip(params, judged):
            name = f"grads['d{key}']"
            estimates[name] = (
                grad,
                estimate_entries(
                    "derivative", self.constancy.watch(name, self._costs(X, Y, params, key)), params[key],
                    dtype=precision(AL.dtype, grad.dtype), rng=sample,
                ),
            )
            tensors.append(self.judge(name, grad, estimates[name][1], roundoff))

        def diagnose(name):
            grad, estimate = estimates[name]
            return signatures.diagnose(name, grad, estimate.value, batch=case.m, kink=estimate.kink)

        comparisons = self.verdict(case, tensors, judged, np.result_type(*judged), diagnose)
        history_agrees(
            self._costs(X, Y, params, "W1"), params["W1"], f"{self.name} ({self.forward_name})",
            dtype=precision(AL.dtype),
        )
        return comparisons

    def close(self):
        super().close()
        if self.constancy.constant():
            self.vacuous = (
                f"the output of {self.name} ({self.forward_name}) is constant on every case, whatever the "
                "parameters are: nothing was checked but a zero gradient -- is it a stub?"
            )
        elif self.constancy.still():
            still = self.constancy.still()
            self.unmoved = (
                f"J of {self.forward_name}'s output never changed with {', '.join(s[8:-2] for s in still)} "
                f"on any case: {', '.join(still)} {'was' if len(still) == 1 else 'were'} checked only to be "
                "zero"
            )

    def _costs(self, X, Y, params, key):
        def values(points):
            outputs = self.remote.outputs(
                TARGET, None, [X, params], self.kwargs, ("entry", (1, key)), points, select=0,
                what=f"{self.name} ({self.forward_name}, finite differences)",
            )
            return np.array([losses.binary_cross_entropy(as_array(o, self.forward_name), Y) for o in outputs])

        return values
