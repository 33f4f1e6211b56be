"""Autodiff engines that misbehave: each is the zoo's scalar engine with one hostile change."""

import math
import sys

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
