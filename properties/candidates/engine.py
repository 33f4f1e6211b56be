"""Autodiff engines in micrograd's style: a value class whose operations build a graph and whose
``backward()`` fills each value's ``grad``.

The engine is checked as its users use it: on drawn *programs* -- a few leaves ``Value(x)``,
then steps of its own operations on earlier values and constants (``a * b``, ``2.0 - a``,
``a ** 3``, ``sum([a, b], c)``, ``c.tanh()``), values used more than once included (a
gradient that is assigned instead of accumulated shows there), then ``backward()`` on the
last value.  Every leaf's ``grad`` is judged against the complex-step derivative of the same
program (``oracles.expressions``), with the tolerance derived there; every value's ``data``
against the program's value, so a wrong forward is named as such.  Hypothesis shrinks a
failure to the fewest leaves and steps, and the report prints that program as Python.

What the engine offers is found, not assumed: the operators its class defines and the
methods among ``tanh``, ``relu``, ``exp``, ``log`` and ``sigmoid``, each tried once on a
small value (a form that raises in its forward -- a float on the left of ``-`` for an
engine without ``__rsub__`` -- is not drawn, and the report says so).  The value's number
is read from ``data`` (or ``value``, ``val``), its gradient from ``grad`` (or
``gradient``), through the ``data`` of a gradient kept as a value object (``x.grad.data``).  A
failure is diagnosed on one-step programs of each form: which operation's backward is wrong, or,
where a + a or a * a gives exactly one use's gradient, that a value used twice keeps only that.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import expressions
from gradcert.oracles.expressions import Program
from gradcert.oracles.precision import unit_roundoff
from gradcert.properties.candidates.base import Checker
from gradcert.properties.candidates.interface import parameters, required
from gradcert.properties.candidates.protocol import Opaque
from gradcert.properties.candidates.remote import TARGET
from gradcert.properties.candidates.verdicts import CandidateFailure, Declined
from gradcert.properties.certify import Disagreement
from gradcert.properties.compare import Comparison, compare_tensor
from gradcert.properties.errors import TargetError, UsageError
from hypothesis import strategies as st

DATA_NAMES = ("data", "value", "val")
GRAD_NAMES = ("grad", "gradient")
PROBE = 1.25  # the number a probe value is built with: exact in every precision
LEAVES = (1, 4)  # the range of a program's leaves
STEPS = (1, 10)  # ... and of its steps
CONSTANTS = (2.0, -1.5, 0.5, 3.0, -2.0)
EXPONENTS = (2, 3, -1, 0.5, -2)
LEAF_SCALE = 1.2  # leaves ~ N(0, 1.2^2), most rounded to 3 decimals: readable programs
PRECISE = 0.25  # ... and each at full float64 precision with this chance: an engine cannot tell the probes
ATTEMPTS = 30  # draws of one step before the program ends there (every form inadmissible)


@dataclass(frozen=True)
class Form:
    """One way of using an operation: ``shape`` "vv" (value op value), "vc", "cv" (a constant on
    the right or left), "u" (a method or -a), "k" (a ** exponent, one form per exponent: an engine
    may take int exponents only, or no negative ones), "s0" / "sv" (sum with Python's start 0, or
    a value as start)."""

    op: str
    shape: str
    exponent: float | int | None = None

    def example(self):
        """A one-step program of this form (for the probe)."""
        a, b = 0.75, -1.25
        if self.shape == "vv":
            return Program((a, 1.5), ((self.op, (0, 1)),))
        if self.shape == "vc":
            return Program((a,), ((self.op, (0, ("c", 2.0))),))
        if self.shape == "cv":
            return Program((b,), ((self.op, (("c", 2.0), 0)),))
        if self.shape == "k":
            return Program((1.5,), (("pow", (0, ("c", self.exponent))),))
        if self.shape == "s0":
            return Program((a, b), (("sum", (("c", 0), 0, 1)),))
        if self.shape == "sv":
            return Program((a, b, 0.5), (("sum", (2, 0, 1)),))
        return Program((a,), ((self.op, (0,)),))

    def shown(self, cls):
        return Program.source(self.example(), cls).splitlines()[-2].split(" = ", 1)[1]


FORMS = (
    *(Form(op, shape) for op in expressions.BINARY for shape in ("vv", "vc", "cv")),
    Form("neg", "u"),
    *(Form("pow", "k", k) for k in EXPONENTS),
    Form("sum", "s0"),
    Form("sum", "sv"),
    *(Form(op, "u") for op in expressions.UNARY),
)


@dataclass(frozen=True, eq=False)
class ProgramCase:
    """One drawn case: the program's size and seed, and the program drawn from them."""

    leaves: int
    steps: int
    seed: int
    program: Program
    shown: tuple = ("Value",)  # Program.source's cls, leaf_arguments, leaf

    @property
    def dims(self):
        return {"leaves": self.leaves, "steps": self.steps}

    def describe(self):
        return "; ".join(self.program.source(*self.shown).splitlines())

    def record(self):
        return {"dims": self.dims, "seed": self.seed}


def draw_program(leaves, steps, seed, forms):
    """A program of ``leaves`` leaves and at most ``steps`` steps of ``forms``, from ``seed``: each
    leaf rounded to 3 decimals, or (``PRECISE`` of them) at full precision, printed with repr so
    that the program reproduces exactly.  Each step's operands are the newest value (half the
    time) or any earlier one, or a constant; a step is drawn again until it is admissible
    (``oracles.expressions.admissible``) and its value stays in range.  Steps are drawn from
    their own stream, so a program with fewer steps is the start of the one with more: shrinking
    keeps what it found."""
    rng = np.random.default_rng((seed, 0))
    values = rng.standard_normal(leaves) * LEAF_SCALE
    # a stream of its own: the leaves and steps of a seed are the same whichever leaves are rounded
    precise = np.random.default_rng((seed, 2)).random(leaves) < PRECISE
    values = [float(v) if exact else round(float(v), 3) for v, exact in zip(values, precise)]
    program = Program(tuple(values), ())
    rng = np.random.default_rng((seed, 1))
    for _ in range(steps):
        run = expressions.evaluate(program)
        for _ in range(ATTEMPTS):
            step = _step(rng, forms, program.registers)
            args = [run.values[x] if isinstance(x, int) else x[1] for x in step[1]]
            errors = [run.errors[x] if isinstance(x, int) else 0.0 for x in step[1]]
            if step[0] != "sum" and not expressions.admissible(step[0], args, errors):
                continue
            if expressions.within_range(expressions.step_value(step[0], args)):
                program = Program(program.leaves, (*program.steps, step))
                break
        else:
            break
    return _live(program)


def _live(program):
    """The program without the leaves and steps its last value does not depend on (backward never
    visits them: they would only lengthen a report), its registers renumbered."""
    k = len(program.leaves)
    needed = {program.registers - 1}
    for j in reversed(range(len(program.steps))):
        if k + j in needed:
            needed.update(x for x in program.steps[j][1] if isinstance(x, int))
    kept = [i for i in range(k) if i in needed] or [0]
    number = {i: n for n, i in enumerate(kept)}
    steps = []
    for j, (op, operands) in enumerate(program.steps):
        if k + j in needed:
            number[k + j] = len(kept) + len(steps)
            steps.append((op, tuple(number[x] if isinstance(x, int) else x for x in operands)))
    return Program(tuple(program.leaves[i] for i in kept), tuple(steps))


def _step(rng, forms, registers):
    form = forms[int(rng.integers(len(forms)))]

    def register():
        return registers - 1 if rng.random() < 0.5 else int(rng.integers(registers))

    def constant():
        return ("c", CONSTANTS[int(rng.integers(len(CONSTANTS)))])

    if form.shape == "vv":
        return form.op, (register(), register())
    if form.shape == "vc":
        return form.op, (register(), constant())
    if form.shape == "cv":
        return form.op, (constant(), register())
    if form.shape == "k":
        return "pow", (register(), ("c", form.exponent))
    if form.shape in ("s0", "sv"):
        values = tuple(register() for _ in range(int(rng.integers(2, 5))))
        return "sum", (("c", 0) if form.shape == "s0" else register(), *values)
    return form.op, (register(),)


@dataclass(frozen=True)
class EngineDiagnosis:
    """What the short programs say is wrong (``EngineChecker.diagnose``), as the report reads it."""

    tensor: str
    signature: str | None
    explanation: str
    suggestion: str | None = None
    equation = None  # no BP equation: an engine's backward is its own


class EngineChecker(Checker):
    """An autodiff engine's value class, judged on drawn programs of its own operations."""

    style = "engine"
    part = "backward"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name)
        self.remote, self.interface = remote, interface
        if self.options.oracles is None:
            self.oracles = ("complex-step",)
        self.cls = (interface.name or "Value").split(".")[-1]
        call = parameters(interface.description.get("call")) or []
        # a leaf that takes part in backward must say so in engines that follow torch's habit
        self.leaf_kwargs = {"requires_grad": True} if any(p.name == "requires_grad" for p in call) else {}
        self.leaf_arguments = "".join(f", {k}={v!r}" for k, v in self.leaf_kwargs.items())
        self.leaf_array = False  # a leaf made from a 0-d array (_attributes decides)
        takes = required(interface.description.get("call"))
        if takes is not None and len(takes) != 1:
            shown = ", ".join(p.name for p in takes)
            raise TargetError(
                f"{name}({shown}): gradcert builds an engine's values as {self.cls}(number); its constructor "
                f"needs {len(takes)} arguments"
            )
        self.seed_args = self._seed_arguments()
        self.data, self.grad, self.roundoff = self._attributes()
        self.forms, skipped = self._forms()
        if skipped:
            self.note(
                f"not drawn, since they raise in {name}'s forward: "
                + "; ".join(f"{form.shown(self.cls)} ({why})" for form, why in skipped)
            )
        self.note(
            f"{name} was checked on programs of "
            + ", ".join(dict.fromkeys(f.shown(self.cls) for f in self.forms))
        )
        self.checked("every leaf's grad", "every value's data")

    @property
    def shown(self):
        """How a program is printed for this engine (``Program.source``'s arguments)."""
        return self.cls, self.leaf_arguments, "np.array({!r})" if self.leaf_array else "{!r}"

    # -- what the engine offers
    def _seed_arguments(self):
        """What backward() is given: nothing, or 1.0 when it asks for the output's own gradient
        (backward(self, grad)); exit 2 for a backward that asks for more."""
        takes = required((self.interface.description.get("methods") or {}).get("backward")) or []
        if len(takes) > 1:
            raise TargetError(
                f"{self.name}.backward({', '.join(p.name for p in takes)}): gradcert calls backward() on "
                "the output with nothing, or with the output's gradient 1.0"
            )
        return (1.0,) if takes else ()

    def _attributes(self):
        """(data attribute, grad attribute, unit roundoff of the values) of a probe value."""
        built = f"{self.name}({PROBE}{self.leaf_arguments})"
        try:
            probe = self.remote.call(TARGET, None, [PROBE], self.leaf_kwargs, keep="handle", what=built)
        except CandidateFailure as failure:
            if not _raised(failure, built):
                raise  # a hang, an exit, a signal: a verdict
            # an engine of arrays (Tensor(np.array(...)) only): its leaves are made from 0-d arrays
            array = f"{self.name}(np.array({PROBE}){self.leaf_arguments})"
            try:
                probe = self.remote.call(
                    TARGET, None, [np.array(PROBE)], self.leaf_kwargs, keep="handle", what=array
                )
            except CandidateFailure as second:
                if not _raised(second, array):
                    raise
                tried = f"{_first_line(failure.message)}; {_first_line(second.message)}"
                raise TargetError(
                    f"{self.name}: gradcert builds an engine's leaves from a number, a float or a 0-d "
                    f"array, and neither builds: {tried}"
                ) from None
            self.leaf_array = True
            self.note(f"{self.name}'s values are made from 0-d arrays: {failure.message}")
        try:
            data = self._read_any(probe, DATA_NAMES, PROBE, "the number it holds")
            self.remote.call(probe, "backward", list(self.seed_args), what=f"{self.name}({PROBE}).backward()")
            grad = self._read_any(probe, GRAD_NAMES, None, "its gradient")
            number = self.remote.get(probe, [("a", data)], what=f"{self.name}({PROBE}).{data}")
        finally:
            self.remote.release(probe)
        dtype = np.asarray(number).dtype
        return data, grad, unit_roundoff(dtype if dtype.kind == "f" else np.float64)

    def _read_any(self, probe, names, expected, what):
        """The first of ``names`` that ``probe`` has (holding ``expected``, when it is given).  Only
        an attribute that is not there (AttributeError, NotImplementedError) or does not hold the
        number falls through to the next name: a getter that hangs, exits or raises otherwise, or a
        reply that cannot be read, is the candidate's verdict."""
        for attribute in names:
            read = f"{self.name}.{attribute}"
            try:
                value = self.remote.get(probe, [("a", attribute)], what=read)
            except Declined:
                continue
            except CandidateFailure as failure:
                if _raised(failure, read, "AttributeError"):
                    continue
                raise
            # PROBE is exact in every precision: the attribute that holds the number holds it exactly
            if expected is None or _number(value) == expected:
                return attribute  # the gradient: the first that exists (what it holds is judged later)
        raise TargetError(
            f"{self.name}: gradcert reads {what} from .{' / .'.join(names)}, and none of them holds it"
        )

    def _forms(self):
        """The forms whose one-step program runs forward, and (form, why) for those that raise."""
        forms, skipped = [], []
        for form in FORMS:
            if (
                form.shape == "u"
                and form.op != "neg"
                and form.op not in (self.interface.description.get("methods") or {})
            ):
                continue
            try:
                result = self._run(
                    form.example(), backward=False, what=f"{self.name}: {form.shown(self.cls)}"
                )
                self._values(result, form.example())
            except CandidateFailure as failure:
                if failure.verdict == "crashed":  # raised: the engine does not offer this form
                    skipped.append((form, failure.message.split(": ", 1)[-1][:80]))
                    continue
                raise  # garbage, an exit, a hang, a signal: a verdict now, on that one-step program
            forms.append(form)
        if not any(f.op == "add" and f.shape == "vv" for f in forms) or not any(
            f.op == "mul" and f.shape == "vv" for f in forms
        ):
            raise TargetError(
                f"{self.name}: a + b and a * b of two {self.cls}s must work for gradcert to draw programs"
            )
        return tuple(forms), skipped

    # -- cases
    def strategy(self):
        fixed = self.options.dims or {}
        unknown = sorted(set(fixed) - {"leaves", "steps"})
        if unknown:
            raise UsageError(f"--dims: an engine's programs have leaves and steps, not {', '.join(unknown)}")
        sizes = {
            key: st.just(fixed[key]) if key in fixed else st.integers(*span)
            for key, span in (("leaves", LEAVES), ("steps", STEPS))
        }
        return st.builds(self._case, sizes["leaves"], sizes["steps"], st.integers(0, 2**32 - 1))

    def _case(self, leaves, steps, seed):
        return ProgramCase(leaves, steps, seed, draw_program(leaves, steps, seed, self.forms), self.shown)

    def pinned(self, seed):
        fixed = self.options.dims or {}
        if set(fixed) != {"leaves", "steps"}:
            raise UsageError("--case-seed pins one program: give --dims leaves=L,steps=S with it")
        return self._case(fixed["leaves"], fixed["steps"], seed)

    def reproduce(self, case):
        return {"dims": case.dims, "case_seed": case.seed, "examples": None, "seed": None}

    # -- judging
    def _run(self, program, *, backward=True, what=None):
        return self.remote.program(
            TARGET,
            program,
            self.data,
            self.grad,
            backward=backward,
            leaf_kwargs=self.leaf_kwargs,
            seed_args=self.seed_args,
            leaf_array=self.leaf_array,
            what=what or f"{self.name} on {'; '.join(program.source(*self.shown).splitlines())}",
        )

    def _values(self, result, program):
        """Every register's number, or an invalid-output verdict naming the step that made it."""
        values = []
        lines = program.source(*self.shown).splitlines()
        for i, value in enumerate(result.get("values") or []):
            number = _number(value)
            if number is None or not math.isfinite(number):
                raise CandidateFailure(
                    "invalid output",
                    f"{lines[i]} gave {value!r}, not a {self.cls} holding a finite number in .{self.data}",
                )
            values.append(number)
        return values

    def check(self, case):
        failure = self._judge(case.program)
        if failure is None:
            return [self._last]
        raise self._disagreement(case, failure)

    def _judge(self, program):
        """None when the engine is right on ``program``; else the failing part ("forward" or
        "backward").  The comparison is kept in ``_last``."""
        result = self._run(program)
        values = self._values(result, program)
        grads = result.get("grads")
        if grads is None:
            raise CandidateFailure("invalid output", f"{self.name}: backward() left no gradients to read")
        for name, before, after in zip(program.names(), values, result.get("after") or []):
            if _number(after) != before:
                raise CandidateFailure(
                    "mutated inputs",
                    f"{self.name}: backward() changed {name}.{self.data} from {before!r} to {after!r} "
                    f"on {'; '.join(program.source(*self.shown).splitlines())}: a "
                    "backward pass must leave the values it differentiates (a step taken inside it?)",
                )
        given = []
        for name, grad in zip(program.names(), grads):
            number = 0.0 if grad is None else _number(grad)  # never touched: zero
            if number is None or not math.isfinite(number):
                raise CandidateFailure("invalid output", f"{name}.{self.grad} is {grad!r}, not a number")
            given.append(number)
        self._given = given
        part, self._last = judge_run(program, values, given, self.roundoff, self.grad)
        return part

    def _disagreement(self, case, part):
        failure = Disagreement(case, [self._last], part=part, dtype=np.float64)
        if part == "backward":
            failure.diagnosis = self.diagnose()
        return failure

    def _assigns(self, op):
        """Whether ``op`` on a value used twice (a + a, a * a) shows the evidence of a grad assigned
        where it must be accumulated: the same op on two values (a + b) is right, and a's grad from
        a op a is exactly what one use gives -- half the gradient, since both uses contribute the
        same -- within the tolerance of the whole."""
        twice = Program((0.75,), ((op, (0, 0)),))
        try:
            if self._judge(Program((0.75, 1.5), ((op, (0, 1)),))) is not None:
                return False  # the op is wrong on its own: its backward, not the accumulation
            if self._judge(twice) is None:
                return False
        except CandidateFailure:
            return False
        truth = expressions.gradient(twice, self.roundoff)
        return bool(abs(self._given[0] - truth.values[0] / 2) <= truth.tolerance[0])

    def diagnose(self):
        """Which one-step programs fail: the forms whose backward is wrong, or a value used twice."""
        wrong = []
        for form in self.forms:
            # the form, then its value doubled (c + c): the upstream gradient is 2, not 1, so a
            # backward that leaves the chain rule's factor out shows too
            example = form.example()
            program = Program(example.leaves, (*example.steps, ("add", (example.registers - 1,) * 2)))
            try:
                if self._judge(program) is not None:
                    wrong.append(form)
            except CandidateFailure:
                wrong.append(form)
        if any(self._assigns(op) for op in ("add", "mul")):
            return EngineDiagnosis(
                "grad",
                "gradient_overwritten",
                "a value used twice gets the gradient of one use only (a + a, a * a): its grad is assigned "
                "(grad = ...) where it must be accumulated (grad += ...)",
            )
        if wrong:
            shown = ", ".join(dict.fromkeys(f.shown(self.cls) for f in wrong))
            return EngineDiagnosis(
                "grad",
                "operation_backward",
                f"the backward of {shown} is wrong (programs of one such step, its value then doubled, fail; "
                "those of the other forms agree)",
            )
        return EngineDiagnosis(
            "grad",
            None,
            "every operation agrees on its own (one step, its value doubled): the error needs the graph "
            "the failing program builds (the order backward() visits values in, a value reached along "
            "several paths)",
        )


def judge_run(program, values, grads, roundoff, grad="grad"):
    """(None or the failing part, the Comparison) for an engine's run of ``program``: every value's
    data (``values``, one per register) and every leaf's gradient (``grads``), the engine computing
    in unit roundoff ``roundoff``.  A value may be off by a correct engine's forward error and the
    oracle's own; a gradient by the bound of ``oracles.expressions.gradient``."""
    exact = Program(
        tuple(values[: len(program.leaves)]), program.steps
    )  # the leaves as the engine holds them
    run = expressions.evaluate(exact, roundoff)
    oracle_run = expressions.evaluate(exact)
    names = program.names()
    forward = compare_tensor(
        "the values' data",
        0,
        np.array(values),
        np.array(oracle_run.values),
        np.array(run.errors) + np.array(oracle_run.errors),
        # the scale of a value that cancelled to ~0: the terms its error bound was taken of
        np.maximum(np.abs(oracle_run.values), np.array(oracle_run.errors) / expressions.UNIT_ROUNDOFF),
        0.0,
    )
    if not forward.agrees:
        return "forward", Comparison(expressions.NAME, [_named(forward, names, "")])
    truth = expressions.gradient(exact, roundoff)
    rows = [
        dataclasses.replace(
            compare_tensor(
                f"{name}.{grad}",
                0,
                np.array([c]),
                np.array([o]),
                np.array([t]),
                np.array([max(abs(o), m)]),
                0.0,
            ),
            worst_index=(),
        )
        for name, c, o, t, m in zip(names, grads, truth.values, truth.tolerance, truth.magnitudes)
    ]
    comparison = Comparison(expressions.NAME, rows)
    return (None if comparison.agrees else "backward"), comparison


def _named(row, names, suffix):
    """The values' comparison with its worst entry named as the program names it."""
    if row.worst_index:
        return dataclasses.replace(row, name=f"{names[row.worst_index[0]]}.data{suffix}", worst_index=())
    return row


def _raised(failure, what, kind=None):
    """Whether ``failure`` is the call ``what`` raising an exception (of type ``kind``, if given),
    as ``Remote`` words it -- not a hang, an exit, a signal or a corrupted channel."""
    prefix = f"{what} raised {kind or ''}"
    return failure.verdict == "crashed" and failure.message.startswith(prefix) and (
        kind is None or failure.message[len(prefix) :][:1] in ("", ":")
    )


def _first_line(text):
    return (text.splitlines() or [""])[0]


def _number(value):
    """A number the worker sent (a Python number or a one-entry array), as a float; None otherwise."""
    if isinstance(value, Opaque) or value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return float(value)
    array = np.asarray(value)
    if array.dtype.kind in "biuf" and array.size == 1:
        return float(array.reshape(()))
    return None
