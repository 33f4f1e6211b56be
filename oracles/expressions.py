"""Oracle: the derivatives of a scalar expression, for checking an autodiff engine.

An engine in micrograd's style (a ``Value`` class: ``Value(2.0)``, ``a * b + 1``,
``c.tanh()``, ``c.backward()``, then ``a.grad``) is checked on small programs: a
few leaves and a list of steps, each one operation of the engine on earlier
registers and constants.  This module holds what the judging needs of a program
and computes none of it from the engine:

* ``Program`` -- the leaves and the steps, as plain data (the worker runs them on
  the engine, ``candidates.engine`` draws them), and the program as Python source;
* ``OPS`` -- every operation's facts, in one place: its value (real and complex),
  its partial derivatives, and what bounds their rounding;
* ``evaluate`` -- each register's value in float64, and how far a correct engine's
  value may be from it (a running forward error bound);
* ``gradient`` -- d output / d leaf by the complex step (Squire and Trapp 1998: the
  program evaluated once per leaf with that leaf moved by i h, h = 2^-64: no
  derivative formula, no difference of nearly equal numbers), and a bound on how
  far a correct engine's ``leaf.grad`` may be from it.

The bound.  A correct engine computes, in reverse order over the graph, each
node's adjoint as the sum over its uses of (the user's adjoint) x (the local
partial), the partial taken from the forward values it holds.  To first order
(a margin of 1 % covers the rest, as in ``oracles.rounding``)

    E(adj v) <= sum over uses w of  E(adj w) |p| + |adj w| eps(p) + u |adj w p|
                + gamma_k sum |adj w p|            (k uses summed),

where eps(p) bounds the partial's own error: its sensitivity to the forward
values' errors (``Op.partial_error``) plus ROUNDINGS roundings of the terms it is
computed from.  The forward errors are bounded the same way: each value is the
exact operation of values carrying their own errors, rounded ROUNDINGS times (a
composite such as micrograd's a / b = a * b**-1 included).  ROUNDINGS is 4 for
arithmetic and ``rounding.ELEMENTARY_FUNCTION_OPS`` for exp, log, tanh and the
sigmoid; tanh's terms are taken as 1 whatever |tanh| is, since a common
implementation is (e^2x - 1) / (e^2x + 1), accurate to u absolutely, not
relatively.  The complex step's own error is bounded by COMPLEX_ROUNDINGS times
the same bound (``oracles.complex_step``: the imaginary part is a forward-mode
derivative, the same products summed in another order, each complex operation
rounding at most that many times as often).

Programs stay where every operation is smooth and well away from overflow
(``admissible``): a relu's argument is at least KINK_MARGIN times its forward
error from 0, so a correct engine cannot put it on the other side; log and
division see arguments of at least DOMAIN_FLOOR; exp, tanh and the sigmoid see
arguments of at most EXP_CEILING; every value stays below VALUE_CEILING.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

from gradcert.oracles.complex_step import COMPLEX_ROUNDINGS, NAME, STEP
from gradcert.oracles.landscape import FIRST_ORDER_MARGIN
from gradcert.oracles.precision import TINY, UNIT_ROUNDOFF, dtype_of_roundoff, gamma, smallest_normal
from gradcert.oracles.rounding import ELEMENTARY_FUNCTION_OPS

ARITHMETIC_ROUNDINGS = 4  # an arithmetic operation, or its partial, in a correct engine (docstring)
# A correct engine's value and the oracle's are each within e of the exact one: |x| > 2e puts both
# on the same side of a kink; twice that leaves a margin for the bound's own first-order terms.
KINK_MARGIN = 4.0
# Where programs are drawn (not tolerances): log and division arguments at least DOMAIN_FLOOR, so
# their partials 1/a and -a/b^2 stay below 400; exp, tanh and sigmoid arguments below EXP_CEILING
# (e^15 ~ 3e6; tanh's e^(2x) ~ 1e13, far from overflow); every value below VALUE_CEILING.
DOMAIN_FLOOR = 0.05
EXP_CEILING = 15.0
VALUE_CEILING = 1e4


def _relu(z):
    return z if z.real > 0 else 0.0 * z


def _sigmoid(z):
    # 1 / (1 + e^-z), or e^z / (1 + e^z) for Re z < 0: the same function, exp never overflows
    if z.real >= 0:
        return 1.0 / (1.0 + _exp(-z))
    e = _exp(z)
    return e / (1.0 + e)


def _exp(z):
    return cmath.exp(z) if isinstance(z, complex) else math.exp(z)


def _log(z):
    return cmath.log(z) if isinstance(z, complex) else math.log(z)


def _tanh(z):
    return cmath.tanh(z) if isinstance(z, complex) else math.tanh(z)


@dataclass(frozen=True)
class Op:
    """One operation's facts.  ``value(*args)`` works on floats and complex numbers alike.
    ``partials(args, out)`` are d out / d arg_i; ``partial_error(args, out, errors, out_error, u)``
    bounds each partial's error in a correct engine (the args' and out's forward errors carried
    through it, and its own roundings); ``terms(args, out)`` is the size of the terms the value is
    rounded from."""

    name: str
    arity: int
    value: object
    partials: object
    partial_error: object
    roundings: int = ARITHMETIC_ROUNDINGS
    terms: object = None  # default |out|

    def rounding_terms(self, args, out):
        return abs(out) if self.terms is None else self.terms(args, out)


def _zero_error(args, out, errors, out_error, u):
    return [0.0] * len(args)


def _mul_error(args, out, errors, out_error, u):
    return [errors[1], errors[0]]


def _div_error(args, out, errors, out_error, u):
    (a, b), (ea, eb), r = args, errors, ARITHMETIC_ROUNDINGS * u
    return [eb / b**2 + r / abs(b), ea / b**2 + 2 * abs(a) * eb / abs(b) ** 3 + r * abs(a) / b**2]


def _pow_partials(args, out):
    a, k = args
    return [k * a ** (k - 1), None]


def _pow_error(args, out, errors, out_error, u):
    """k a^(k-1)'s error: for a whole k >= 1 the partial's whole range over |a - a'| <= E,
    k ((|a| + E)^(k-1) - |a|^(k-1)), summed term by term (no cancellation): at a = 0 the first-order
    term k (k - 1) a^(k-2) E vanishes for k = 3 while the range is 3 E^2; otherwise (a >= DOMAIN_FLOOR,
    E << a) the first-order term."""
    a, k = args
    e = errors[0]
    if k == int(k) and k >= 1:
        n = int(k) - 1
        moved = k * sum(math.comb(n, j) * abs(a) ** (n - j) * e**j for j in range(1, n + 1))
    else:
        moved = abs(k * (k - 1) * a ** (k - 2)) * e
    return [moved + ARITHMETIC_ROUNDINGS * u * abs(k * a ** (k - 1)), 0.0]


def _elementary(error_of):
    def partial_error(args, out, errors, out_error, u):
        return [error_of(args[0], out, errors[0], out_error, ELEMENTARY_FUNCTION_OPS * u)]

    return partial_error


# Every operation an engine may offer, by the name its program step uses.  A binary operation
# takes registers or constants on either side (2.0 - a is a's __rsub__); "pow" takes a constant
# exponent.  "sum" is Python's sum(values, start), for any number of values.
OPS = {
    "add": Op(
        "add",
        2,
        lambda a, b: a + b,
        lambda args, out: [1.0, 1.0],
        _zero_error,
        terms=lambda args, out: abs(args[0]) + abs(args[1]),
    ),
    "sub": Op(
        "sub",
        2,
        lambda a, b: a - b,
        lambda args, out: [1.0, -1.0],
        _zero_error,
        terms=lambda args, out: abs(args[0]) + abs(args[1]),
    ),
    "mul": Op("mul", 2, lambda a, b: a * b, lambda args, out: [args[1], args[0]], _mul_error),
    "div": Op(
        "div", 2, lambda a, b: a / b, lambda args, out: [1.0 / args[1], -args[0] / args[1] ** 2], _div_error
    ),
    "neg": Op("neg", 1, lambda a: -a, lambda args, out: [-1.0], _zero_error, roundings=0),
    "pow": Op("pow", 2, lambda a, k: a**k, _pow_partials, _pow_error, roundings=ELEMENTARY_FUNCTION_OPS),
    "relu": Op("relu", 1, _relu, lambda args, out: [1.0 if args[0] > 0 else 0.0], _zero_error, roundings=0),
    # tanh' = 1 - t^2 from the output t: its error is 2|t| E(t) and its rounding's terms 1 + t^2
    "tanh": Op(
        "tanh",
        1,
        _tanh,
        lambda args, out: [1.0 - out**2],
        _elementary(lambda a, t, ea, et, r: 2 * abs(t) * et + r * (1.0 + t**2)),
        roundings=ELEMENTARY_FUNCTION_OPS,
        terms=lambda args, out: 1.0,
    ),
    "exp": Op(
        "exp",
        1,
        _exp,
        lambda args, out: [out],
        _elementary(lambda a, v, ea, ev, r: ev + r * abs(v)),
        roundings=ELEMENTARY_FUNCTION_OPS,
    ),
    "log": Op(
        "log",
        1,
        _log,
        lambda args, out: [1.0 / args[0]],
        _elementary(lambda a, v, ea, ev, r: ea / a**2 + r / abs(a)),
        roundings=ELEMENTARY_FUNCTION_OPS,
        terms=lambda args, out: abs(out) + 1.0,
    ),
    # sigmoid' = s (1 - s) from the output s: terms s and s^2, error |1 - 2s| E(s)
    "sigmoid": Op(
        "sigmoid",
        1,
        _sigmoid,
        lambda args, out: [out * (1.0 - out)],
        _elementary(lambda a, s, ea, es, r: abs(1.0 - 2.0 * s) * es + r * (s + s**2)),
        roundings=ELEMENTARY_FUNCTION_OPS + 2,  # exp, then 1 + e and 1 / (1 + e)
    ),
}
UNARY = tuple(name for name, op in OPS.items() if op.arity == 1 and name != "neg")  # methods: c.tanh()
BINARY = ("add", "sub", "mul", "div")  # operators, with a constant on either side too
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


@dataclass(frozen=True)
class Program:
    """Leaves (their values) and steps.  A step is (op, operands): an operand is a register index
    (the leaves are registers 0..k-1, then one register per step) or ("c", constant); "sum" takes
    (start, value, value, ...), its start a register or ("c", 0) for Python's default."""

    leaves: tuple
    steps: tuple

    @property
    def registers(self):
        return len(self.leaves) + len(self.steps)

    def names(self):
        """a, b, c, ... for the registers (then v26, v27, ...)."""
        return [chr(ord("a") + i) if i < 26 else f"v{i}" for i in range(self.registers)]

    def source(self, cls="Value", leaf_arguments="", leaf="{!r}"):
        """The program as the Python a user would type to reproduce it (``leaf_arguments``: what
        else each leaf's constructor is given, e.g. ", requires_grad=True"; ``leaf``: how its number
        is written, e.g. "np.array({!r})")."""
        names = self.names()

        def operand(x):
            return names[x] if isinstance(x, int) else repr(x[1])

        lines = [f"{names[i]} = {cls}({leaf.format(v)}{leaf_arguments})" for i, v in enumerate(self.leaves)]
        for j, (op, operands) in enumerate(self.steps):
            target = names[len(self.leaves) + j]
            if op in SYMBOLS:
                expression = f"{operand(operands[0])} {SYMBOLS[op]} {operand(operands[1])}"
            elif op == "neg":
                expression = f"-{operand(operands[0])}"
            elif op == "pow":
                expression = f"{operand(operands[0])} ** {operand(operands[1])}"
            elif op == "sum":
                start = operands[0]
                values = ", ".join(operand(x) for x in operands[1:])
                expression = f"sum([{values}])" if start == ("c", 0) else f"sum([{values}], {operand(start)})"
            else:
                expression = f"{operand(operands[0])}.{op}()"
            lines.append(f"{target} = {expression}")
        lines.append(f"{names[-1]}.backward()")
        return "\n".join(lines)


@dataclass(frozen=True)
class Evaluation:
    """Each register's float64 value and the forward error bound of a correct engine there."""

    values: list
    errors: list


def _operands(program, operands, values):
    return [values[x] if isinstance(x, int) else x[1] for x in operands]


def step_value(op, args):
    """One step's value (float or complex)."""
    if op == "sum":
        return sum(args[1:], args[0])
    return OPS[op].value(*args)


def evaluate(program, u=UNIT_ROUNDOFF) -> Evaluation:
    """Every register's value, and how far a correct engine computing in unit roundoff ``u`` may be
    from the exact one (the oracle's own float64 values are as close, with u64)."""
    values = [float(v) for v in program.leaves]
    errors = [0.0] * len(values)  # the leaves are given exactly
    lost = _underflow(u)
    for op, operands in program.steps:
        args = _operands(program, operands, values)
        arg_errors = [errors[x] if isinstance(x, int) else 0.0 for x in operands]
        out = step_value(op, args)
        if op == "sum":
            error = sum(arg_errors) + gamma(len(args) - 1, u) * sum(abs(a) for a in args) + len(args) * lost
        else:
            fact = OPS[op]
            partials = fact.partials(args, out)
            # Each argument's error carried by its partial anywhere between the two values (the mean
            # value theorem): |p| plus the partial's own error bound, which holds its move over the
            # arguments' errors -- the second-order term that is the whole error where the partial
            # vanishes (e ** 2 at e = 0, exactly 0 in float64 and 1e-7 in a float32 engine).
            first = sum(abs(p) * e for p, e in zip(partials, arg_errors) if p is not None)
            moved = fact.partial_error(args, out, arg_errors, first, u)  # partials of the output: its move
            carried = sum((abs(p) + m) * e for p, m, e in zip(partials, moved, arg_errors) if p is not None)
            error = carried + fact.roundings * (u * fact.rounding_terms(args, out) + lost)
        values.append(out)
        errors.append(FIRST_ORDER_MARGIN * error)
    return Evaluation(values, errors)


def _underflow(u):
    """What one rounding in unit roundoff ``u`` may lose absolutely below the normal range."""
    return smallest_normal(dtype_of_roundoff(u)) + TINY


def admissible(op, args, arg_errors):
    """Whether a step may be drawn here: smooth at its arguments, well inside its domain."""
    if any(isinstance(a, float) and not math.isfinite(a) for a in args):
        return False
    a = args[0]
    if op == "relu":
        return abs(a) > KINK_MARGIN * arg_errors[0] and abs(a) > 0
    if op == "log":
        return a > DOMAIN_FLOOR
    if op == "div":
        return abs(args[1]) > DOMAIN_FLOOR
    if op == "pow":
        k = args[1]
        if k != int(k):
            return a > DOMAIN_FLOOR
        return k >= 0 or abs(a) > DOMAIN_FLOOR
    if op in ("exp", "tanh", "sigmoid"):
        return abs(a) < EXP_CEILING
    return True


def within_range(value):
    return math.isfinite(value) and abs(value) < VALUE_CEILING


@dataclass(frozen=True)
class LeafGradient:
    """d output / d leaf for every leaf (the complex step), and a bound on a correct engine's error
    (``candidate_error``) and on the complex step's own (``oracle_error``)."""

    values: list
    candidate_error: list
    oracle_error: list
    magnitudes: list  # the sum over paths of |the partials' product|: the scale of what cancelled

    @property
    def tolerance(self):
        return [c + o for c, o in zip(self.candidate_error, self.oracle_error)]


def gradient(program, u=UNIT_ROUNDOFF) -> LeafGradient:
    """The complex-step derivatives of the program's last register with respect to its leaves, and
    the bounds of the module docstring for an engine of unit roundoff ``u``."""
    k = len(program.leaves)
    values = []
    for leaf in range(k):
        registers = [complex(v) + (1j * STEP if i == leaf else 0.0) for i, v in enumerate(program.leaves)]
        for op, operands in program.steps:
            registers.append(complex(step_value(op, _operands(program, operands, registers))))
        values.append(registers[-1].imag / STEP)
    candidate, magnitudes = adjoint_errors(program, u, magnitudes=True)
    oracle = adjoint_errors(program, UNIT_ROUNDOFF)
    # Each rounding may also lose a smallest normal number absolutely (gradual underflow): a step's
    # value, its partials, their product with the adjoint and its sum into the gradient, at most
    # 2 (ELEMENTARY_FUNCTION_OPS + 2) + 2 roundings per register, in each precision.
    per_register = 2 * (ELEMENTARY_FUNCTION_OPS + 2) + 2
    floor = per_register * (program.registers + 1) * _underflow(u)
    oracle_floor = per_register * (program.registers + 1) * _underflow(UNIT_ROUNDOFF)
    return LeafGradient(
        values,
        [e + floor for e in candidate[:k]],
        [COMPLEX_ROUNDINGS * e + oracle_floor for e in oracle[:k]],
        magnitudes[:k],
    )


def adjoint_errors(program, u=UNIT_ROUNDOFF, magnitudes=False):
    """E(adj v) for every register (the module docstring), for an engine of unit roundoff ``u``;
    with ``magnitudes``, also each register's sum over paths of |the partials' product|."""
    run = evaluate(program, u)
    n = program.registers
    adjoint, error, absolute = [0.0] * n, [0.0] * n, [0.0] * n
    contributions = [[] for _ in range(n)]  # |adj w p| of each use, for the sum's rounding
    adjoint[-1] = absolute[-1] = 1.0
    first = len(program.leaves)
    for j in reversed(range(len(program.steps))):
        w = first + j
        op, operands = program.steps[j]
        args = _operands(program, operands, run.values)
        arg_errors = [run.errors[x] if isinstance(x, int) else 0.0 for x in operands]
        if op == "sum":
            partials, partial_errors = [1.0] * len(args), [0.0] * len(args)
        else:
            fact = OPS[op]
            partials = fact.partials(args, run.values[w])
            partial_errors = fact.partial_error(args, run.values[w], arg_errors, run.errors[w], u)
        for x, p, e in zip(operands, partials, partial_errors):
            if not isinstance(x, int) or p is None:
                continue
            term = abs(adjoint[w] * p)
            adjoint[x] += adjoint[w] * p
            absolute[x] += absolute[w] * abs(p)
            # (adj + its error)(p + its error) - adj p, to second order exactly: the cross term is the
            # whole error where the adjoint and the partial both vanish
            error[x] += error[w] * (abs(p) + e) + abs(adjoint[w]) * e + u * term
            contributions[x].append(term)
    bounds = [FIRST_ORDER_MARGIN * (e + gamma(len(c), u) * sum(c)) for e, c in zip(error, contributions)]
    return (bounds, absolute) if magnitudes else bounds


__all__ = [
    "NAME",
    "BINARY",
    "OPS",
    "UNARY",
    "UNIT_ROUNDOFF",
    "Evaluation",
    "LeafGradient",
    "Program",
    "admissible",
    "adjoint_errors",
    "evaluate",
    "gradient",
    "step_value",
    "within_range",
]
