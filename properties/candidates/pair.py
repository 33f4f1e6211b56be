"""cs231n's function pairs: ``NAME_forward(x, w, ...) -> (out, cache)``, ``NAME_backward(dout, cache)``.

Each array input is declared with letters (``--inputs "x=N,D w=D,M b=M"``; a single-input forward
defaults to ``x=N,D``), every other argument given as JSON (``--kwargs``); the cache stays in the
worker, passed back to backward as it was.  Every input's gradient is judged against differences
of the forward's output; an input of integers (``x=N,T:int<V``: word indices) has none.  A forward
of several outputs, assignment 3's ``lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> (next_h,
next_c, cache)``, is told by its backward's upstream gradients (``lstm_step_backward(dnext_h,
dnext_c, cache)``: two): each output gets a drawn dout, and every input's gradient is judged as the
vector-Jacobian product of all of them, the gradient of sum_k <dout_k, out_k>.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    SAMPLE_STREAM,
    BlackBox,
    ShapeCase,
    _declared_inputs,
    _real_output,
    base_letter,
    diagonal_of,
    drawn,
    drawn_indices,
    estimate_entries,
    integer_inputs,
    mixed_signs,
    off_domain,
    precision,
    returned_shape,
    shape_of,
)
from gradcert.properties.candidates.history import Constancy, history_agrees
from gradcert.properties.candidates.interface import INPUT_NAMES, parameters
from gradcert.properties.candidates.remote import PARTNER, TARGET
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import unit_roundoff
from gradcert.properties.errors import TargetError, UsageError
from gradcert.properties.options import INTEGERS

# what a forward raises when an input it uses as indices is a float array (W[x]) or a float (W[x[n, t]])
INDEX_ERROR = re.compile(r"(IndexError|TypeError)\b.*\b(integer|indices)")


def _size(bound, dims):
    return int(bound) if bound.isdigit() else dims[bound]


class PairChecker(BlackBox):
    """cs231n's NAME_forward(x, w, ...) -> (out, cache) and NAME_backward(dout, cache) -> (dx, dw, ...)."""

    style = "pair"
    part = "backward"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        self.forward_name, self.backward_name = interface.pair
        suffix = self.backward_name.rpartition("backward")[2]
        if suffix and not self.forward_name.endswith(suffix):  # batchnorm_backward_alt
            self.note(
                f"{self.backward_name} is checked against {self.forward_name}, the forward it pairs with"
            )
        # --kwargs go to backward too where it takes them by name (deeplearning.ai passes `activation`
        # to linear_activation_forward and linear_activation_backward alike)
        accepted = {p.name for p in parameters((interface.partner or {}).get("call")) or []}
        self.backward_kwargs = {k: v for k, v in self.kwargs.items() if k in accepted}
        self.outputs = _upstream_count(interface.partner, self.backward_kwargs)
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
        # inputs of integers (indices: cs231n's word_embedding_forward(x, W)), by their bound; they
        # have no gradient, and backward returns the others' alone
        self._take_integers(integer_inputs(options.inputs))
        if not self.differentiable:
            raise UsageError(f"--inputs declares every input of {self.forward_name} as integers: "
                             "there is no gradient to check")
        self.letters = tuple(base_letter(letter) for _, shape in self.inputs for letter in shape) + tuple(
            b for b in self.integers.values() if not b.isdigit())
        self.constancy = Constancy()
        self.probed = False  # the forward's domain, probed before the first case (``_probe_domain``)
        self.returned = None  # how many values backward returns, where more than one per input

    def strategy(self):
        return self.letter_strategy(self.letters, max(len(s) for _, s in self.inputs))

    def check(self, case):
        forward = f"{self.name} ({self.forward_name})"
        if not self.probed:
            self._probe_domain(case, forward)
            self._probe_returns(case, forward)
            self.probed = True
        self.checked(*(f"d{self.inputs[i][0]}" for i in self.differentiable))
        arrays = self._arrays(case)
        outs, cache = self._forward(arrays, forward)
        douts = [drawn(case, o.shape, len(arrays) + j, zeros=False) for j, o in enumerate(outs)]
        # one output: its dout; several: all of them as one vector, against the outputs laid end to end
        dout = douts[0] if len(outs) == 1 else np.concatenate([d.reshape(-1) for d in douts])
        out_dtype = np.result_type(*outs)
        backward = f"{self.name} ({self.backward_name})"
        grads = self._backward(douts, cache, backward)
        _, cache_again = self._forward(arrays, forward)
        again = self._backward(douts, cache_again, backward)
        roundoff = unit_roundoff(np.result_type(*grads))
        self.repeat_agrees(grads, again, backward, roundoff)
        tensors, estimates, sample = [], {}, case.rng(SAMPLE_STREAM)
        for i, grad in zip(self.differentiable, grads):
            name = self.inputs[i][0]
            if grad.shape != arrays[i].shape:
                raise CandidateFailure(
                    "invalid output",
                    f"{backward}: d{name} has shape {grad.shape}; expected "
                    f"{arrays[i].shape}, the shape of {name}",
                )
            estimates[f"d{name}"] = (
                i,
                estimate_entries(
                    "vjp", self.constancy.watch(f"d{name}", self._outputs(arrays, i)), arrays[i], dout,
                    dtype=precision(out_dtype), rng=sample,
                ),
            )
            tensors.append(self.judge(f"d{name}", grad, estimates[f"d{name}"][1], roundoff))

        def diagnose(tensor):
            i, estimate = estimates[tensor]
            found = signatures.diagnose(
                "dx" if self.inputs[i][0] in INPUT_NAMES else tensor,
                grads[self.differentiable.index(i)],
                estimate.value,
                dout=dout if len(outs) == 1 else None,
                x=arrays[i],
                diagonal=diagonal_of(estimate),
                batch=case.m,
                kink=estimate.kink,
            )
            if found.signature is None and any(  # an embedding's dW: rows of repeated indices
                    signatures.assigned_at(grads[self.differentiable.index(i)], arrays[j], dout)
                    for j, (a, _) in enumerate(self.inputs) if a in self.integers):
                found = dataclasses.replace(found, signature="repeated_index_assigned")
            return dataclasses.replace(found, tensor=tensor)

        comparisons = self.verdict(case, tensors, grads, np.result_type(*grads), diagnose)
        for i in self.differentiable:
            history_agrees(self._outputs(arrays, i), arrays[i], forward, dtype=precision(out_dtype))
        return comparisons

    def _forward(self, arrays, forward):
        """The forward's outputs (a list: one, or an LSTM step's two) as real arrays, and its cache."""
        out, cache = self.remote.call(TARGET, None, arrays, self.kwargs, keep="pair", what=forward,
                                      fresh=True, mutable=True, outputs=self.outputs)
        outs = [out] if self.outputs == 1 else list(out)
        return [_real_output(o, forward) for o in outs], cache

    def _arrays(self, case, positive=None):
        positive = self.positive if positive is None else positive
        return [drawn_indices(case, shape_of(shape, case.dims), i, _size(self.integers[name], case.dims))
                if name in self.integers else drawn(case, shape_of(shape, case.dims), i, positive=positive)
                for i, (name, shape) in enumerate(self.inputs)]

    def _probe_domain(self, case, forward):
        """Before the first case: whether the forward is defined at inputs <= 0.  One forward at inputs
        of mixed signs (every size 3, or as --dims fixes it); where it is not finite there, or raises,
        and runs at positive inputs, every input is drawn positive (``BlackBox.domain``); where it
        raises at float indices, an input may be taken as integers (``_integers_found``).  Any other
        outcome decides nothing: the cases judge it."""
        at = ShapeCase({letter: (self.options.dims or {}).get(letter, 3) for letter in case.dims}, 1)
        mixed = [a if name in self.integers else mixed_signs(a)  # ShapeCase(..., 1): no zeros drawn
                 for a, (name, _) in zip(self._arrays(at, positive=False), self.inputs)]

        def runs(arrays):
            for out in self._forward(arrays, forward)[0]:
                as_array(out, f"{forward} output")

        try:
            runs(mixed)
        except CandidateFailure as failure:
            if self._integers_found(failure, at, runs, forward):
                return self._probe_domain(case, forward)  # and the domain, at those inputs
            if not off_domain(failure, mixed):
                return
            try:
                runs(self._arrays(at, positive=True))
            except CandidateFailure:
                return
            self.domain(failure, mixed, forward)

    def _probe_returns(self, case, forward):
        """Before the first case: what backward returns, at sizes that tell the inputs apart (each
        letter its own size).  More values than inputs (batchnorm_backward's dx, dgamma, dbeta and
        one more): judged on the first ones, one per input, where they have the inputs' shapes, with
        a note; exit 2 where they do not, since which is whose gradient would be a guess.  A forward
        or backward that fails here decides nothing: the cases judge it."""
        fixed = self.options.dims or {}
        sizes, free = {}, (n for n in range(2, 100) if n not in fixed.values())
        for letter in case.dims:
            sizes[letter] = fixed[letter] if letter in fixed else next(free)
        at = ShapeCase(sizes, 1)
        arrays = self._arrays(at)
        backward = f"{self.name} ({self.backward_name})"
        try:
            outs, cache = self._forward(arrays, forward)
            douts = [drawn(at, o.shape, len(arrays) + j, zeros=False) for j, o in enumerate(outs)]
            result = self.remote.call(
                PARTNER, None, [*douts, cache], self.backward_kwargs, what=backward, mutable=True
            )
        except CandidateFailure:
            return
        count = len(self.differentiable)
        if not isinstance(result, (tuple, list)) or len(result) <= count:
            return
        if len(result) == len(self.inputs) and all(  # None in an input of integers' place: _backward's
                result[i] is None for i, (a, _) in enumerate(self.inputs) if a in self.integers):
            return
        judged = [(self.inputs[i][0], arrays[i]) for i in self.differentiable]
        names = ", ".join(a for a, _ in judged)
        shapes = [returned_shape(r) for r in result]
        if any(shapes[k] != a.shape for k, (_, a) in enumerate(judged)):
            shown = ", ".join(str(s) if s is not None else "?" for s in shapes)
            raise TargetError(
                f"{backward} returns {len(result)} values for {count} array inputs ({names}), and its "
                f"first {count} do not have the inputs' shapes "
                f"({', '.join(str(a.shape) for _, a in judged)}; "
                f"it returns {shown}): gradcert cannot tell which is whose gradient; return one per "
                "input, in the forward's order"
            )
        self.returned = len(result)
        self.note(
            f"{backward} returns {len(result)} values for {count} array inputs ({names}): the first "
            f"{count}, of the inputs' shapes, are judged as d{', d'.join(a for a, _ in judged)}; "
            f"the other {len(result) - count} not"
        )

    def _take_integers(self, integers):
        self.integers = integers
        self.differentiable = [i for i, (a, _) in enumerate(self.inputs) if a not in integers]

    def _integers_found(self, failure, at, runs, forward):
        """After the forward raised at float inputs that it takes integers only (an IndexError or a
        TypeError about indices: W[x], a loop's W[x[n, t]]), with none declared: each input in turn
        drawn as integers below the first size of another (x below W's V rows), kept, with a note,
        where the forward then runs; otherwise nothing is taken, and the cases judge the crash."""
        if self.integers or failure.verdict != "crashed" or not INDEX_ERROR.search(failure.message):
            return False
        for name, _ in self.inputs:
            for other, shape in self.inputs:
                if other == name or not shape:
                    continue
                self._take_integers({name: shape[0]})
                try:
                    runs(self._arrays(at, positive=False))
                except CandidateFailure:
                    continue
                declared = " ".join(f"{a}={','.join(s)}" + (f"{INTEGERS}{shape[0]}" if a == name else "")
                                    for a, s in self.inputs)
                raised = failure.message.partition(" raised ")[2] or failure.message
                self.note(
                    f"{forward} raises at float inputs ({raised}) and runs with {name} of integers "
                    f"below {other}'s first size, {shape[0]}: {name} is drawn so, repeated indices "
                    f"included, and has no gradient (declare it: --inputs \"{declared}\")"
                )
                return True
        self._take_integers({})
        return False

    def close(self):
        super().close()
        still = self.constancy.still()
        if self.constancy.constant():
            self.vacuous = (
                f"the output of {self.name} ({self.forward_name}) is constant on every case, whatever "
                f"{', '.join(a for a, _ in self.inputs)} are: nothing was checked but a zero gradient "
                "-- is it a stub?"
            )
        elif still:
            inputs = [t[1:] for t in still]
            self.unmoved = (
                f"the output of {self.forward_name} never changed with {', '.join(inputs)} on any case: "
                f"{', '.join(still)} {'was' if len(still) == 1 else 'were'} checked only to be zero"
            )

    def _backward(self, douts, cache, what):
        """The gradients of the differentiable inputs, in order; an input of integers has none, so a
        backward returns the others' alone (word_embedding_backward's dW), or None in its place."""
        result = self.remote.call(PARTNER, None, [*douts, cache], self.backward_kwargs, what=what,
                                  mutable=True)
        count, names = len(self.differentiable), [self.inputs[i][0] for i in self.differentiable]
        if count == 1 and not isinstance(result, (tuple, list)):
            result = [result]
        if self.returned is not None and isinstance(result, (tuple, list)) and len(result) == self.returned:
            result = result[:count]  # the values beyond one per input, as the probe found them
        if (isinstance(result, (tuple, list)) and len(result) == len(self.inputs) > count
                and all(result[i] is None for i, (a, _) in enumerate(self.inputs) if a in self.integers)):
            result = [result[i] for i in self.differentiable]
        if not isinstance(result, (tuple, list)) or len(result) != count:
            shown = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
            raise CandidateFailure(
                "invalid output",
                f"{what} returned {shown} gradients; expected {count}, one per "
                f"array input ({', '.join(names)})"
                + (f"; {', '.join(self.integers)}, of integers, has none" if self.integers else ""),
            )
        return [as_array(g, f"{what}: d{a}") for g, a in zip(result, names)]

    def _outputs(self, arrays, index):
        def outputs(points):
            values = self.remote.outputs(
                TARGET,
                None,
                arrays,
                self.kwargs,
                ("arg", index),
                points,
                select=0 if self.outputs == 1 else list(range(self.outputs)),
                what=f"{self.name} ({self.forward_name}, finite differences)",
            )
            if self.outputs == 1:
                return np.stack([_real_output(v, self.forward_name) for v in values])
            return np.stack([np.concatenate([_real_output(o, self.forward_name).reshape(-1) for o in v])
                             for v in values])

        return outputs


def _upstream_count(backward, given):
    """How many outputs the forward has before its cache, told by the backward's required parameters
    (those not given by --kwargs): each but the last (the cache) an upstream gradient -- dout alone
    (cs231n's layers), or an LSTM step's dnext_h and dnext_c.  One where the signature is unknown."""
    params = [p for p in parameters((backward or {}).get("call")) or [] if p.required and p.name not in given]
    return max(1, len(params) - 1)
