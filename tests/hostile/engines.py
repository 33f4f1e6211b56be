"""Autodiff engines that misbehave: each is the zoo's scalar engine with one hostile change."""

import math
import os
import sys
import time

from zoo.styles.scalar_engine import Value


class SysExitInBackward(Value):
    def backward(self):
        sys.exit(0)


class HangsInBackward(Value):
    def backward(self):
        while True:
            pass


class TanhReturnsFloat(Value):
    def tanh(self):
        return math.tanh(self.data)


class NanGradients(Value):
    def backward(self):
        super().backward()
        stack = [self]
        while stack:
            v = stack.pop()
            if not v._prev:
                v.grad = float("nan")
            stack.extend(v._prev)


class ComplexData(Value):
    def __mul__(self, other):
        out = super().__mul__(other)
        out.data = complex(out.data, 1.0)
        return out


class RaisesInMulBackward(Value):
    def __mul__(self, other):
        out = super().__mul__(other)

        def _backward():
            raise ZeroDivisionError("the engine's own bug")

        out._backward = _backward
        return out


class StepsInsideBackward(Value):
    """backward() also takes a gradient step on the values it differentiates."""

    def backward(self):
        super().backward()
        stack = [self]
        while stack:
            v = stack.pop()
            v.data -= 0.1 * v.grad
            stack.extend(v._prev)


class BackwardTakesTheSeed(Value):
    """A correct engine whose backward asks for the output's gradient: backward(grad)."""

    def backward(self, grad):
        super().backward()
        self.grad = grad


def _leaves(value):
    """The values ``value`` was computed from that were built by hand (no children)."""
    found, seen, stack = [], set(), [value]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            found.extend([v] if not v._prev else [])
            stack.extend(v._prev)
    return found


# -- built from a number: refused (exit 2) when it cannot be; a verdict when it hangs or exits ------
class BuiltFromNestedListsOnly(Value):
    """An engine of 2-D nested lists (Value([[0.5]])): neither Value(1.25) nor Value(np.array(1.25))
    builds, so gradcert cannot drive it."""

    def __init__(self, data, _children=(), _op=""):
        if not isinstance(data, list):
            raise TypeError(f"Value wants a 2-D list, not {type(data).__name__}")
        super().__init__(data, _children, _op)


class HangsWhenBuiltFromAnArray(Value):
    """Refuses a float, then hangs when given the 0-d array gradcert tries next."""

    def __init__(self, data, _children=(), _op=""):
        if isinstance(data, float):
            raise TypeError("Value wants an array")
        while True:
            pass


class ExitsWhenBuilt(Value):
    def __init__(self, data, _children=(), _op=""):
        os._exit(0)


# -- reading data and grad: a hang or an exit is a verdict, not a missing attribute -----------------
class _Slow:
    def __repr__(self):
        time.sleep(60)
        return "slow"

    __str__ = __repr__


class GradReprHangs(Value):
    """Leaves a gradient object whose repr sleeps 60 s."""

    def backward(self):
        super().backward()
        for leaf in _leaves(self):
            leaf.grad = _Slow()


class GradGetterExits(Value):
    """Wrong gradients (x 1.5) behind a grad getter that calls os._exit(0) once backward() has run."""

    @property
    def grad(self):
        if getattr(self, "_done", False):
            os._exit(0)
        return self._g

    @grad.setter
    def grad(self, g):
        self._g = g

    def backward(self):
        super().backward()
        for leaf in _leaves(self):
            leaf._g *= 1.5
            leaf._done = True


class _LyingFloat(float):
    """A float that says it equals anything and differs from nothing, by a distance of 0."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return 0.0

    def __rsub__(self, other):
        return 0.0

    def __abs__(self):
        return 0.0

    def __float__(self):
        return 0.0

    __hash__ = float.__hash__


class LyingFloatGrad(Value):
    """Wrong gradients (x 1.5) stored as floats that lie about comparisons and their own value."""

    def backward(self):
        super().backward()
        for leaf in _leaves(self):
            leaf.grad = _LyingFloat(1.5 * leaf.grad)


class _ClaimsFloat:
    """Not a float, but says it is one (isinstance(x, float) is True), holding a wrong gradient."""

    def __init__(self, g):
        self.g = g

    @property
    def __class__(self):
        return float

    def __float__(self):
        return self.g / 1.5


class ClaimsFloatGrad(Value):
    def backward(self):
        super().backward()
        for leaf in _leaves(self):
            leaf.grad = _ClaimsFloat(1.5 * leaf.grad)


class _F(float):
    pass


class FloatSubclassData(Value):
    """Correct: its leaves hold a plain float subclass (class F(float): pass)."""

    def __init__(self, data, _children=(), _op=""):
        super().__init__(_F(data) if not _children else data, _children, _op)


class _EqualsAnything(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


class LyingFloatData(Value):
    """Correct: its leaves hold floats whose == says True to anything."""

    def __init__(self, data, _children=(), _op=""):
        super().__init__(_EqualsAnything(data) if not _children else data, _children, _op)


# -- a gradient held as a value object ----------------------------------------------------------------
class _HoldsItself:
    @property
    def data(self):
        return self


class GradHoldsItself(Value):
    """A gradient object whose .data is itself: read through .data a few levels, then refused."""

    def backward(self):
        super().backward()
        for leaf in _leaves(self):
            leaf.grad = _HoldsItself()


# -- probes told from user inputs ---------------------------------------------------------------------
class WrongUnlessLeavesAreRounded(Value):
    """Wrong leaf gradients (x 1.5) unless the leaf holds a number of at most 3 decimals, as leaves
    drawn N(0, 1.2^2) and rounded to 3 decimals always did: a user's 0.7312945 gets 2.19, not 1.46."""

    def backward(self):
        super().backward()
        for leaf in _leaves(self):
            if abs(leaf.data * 1000 - round(leaf.data * 1000)) > 1e-6:
                leaf.grad *= 1.5
