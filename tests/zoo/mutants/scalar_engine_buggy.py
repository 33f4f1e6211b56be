"""The scalar engine's classic bugs, one per subclass (each overrides one operation or backward())."""

import math

from zoo.styles.scalar_engine import Value


class OverwritesGrad(Value):
    """+ assigns its gradient (grad = ...) where it must accumulate (+=): right until a value is used twice."""

    def __add__(self, other):
        other = self._lift(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out


class AddMulSwapped(Value):
    """+ and * have each other's backward: a + b passes each the other's data, a * b the upstream
    gradient alone.  Grads are accumulated: a + a is wrong, but not as an assigned grad would be."""

    def __add__(self, other):
        other = self._lift(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out


class TanhUnsquared(Value):
    """tanh' taken as 1 - t instead of 1 - t^2."""

    def tanh(self):
        t = math.tanh(self.data)
        out = type(self)(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t) * out.grad

        out._backward = _backward
        return out


class PowExponentKept(Value):
    """d(x^k)/dx taken as k x^k: the exponent not lowered."""

    def __pow__(self, k):
        out = type(self)(self.data**k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data**k * out.grad

        out._backward = _backward
        return out


class MulChainDropped(Value):
    """* forgets the upstream gradient: self.grad += other.data (no out.grad)."""

    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data
            other.grad += self.data

        out._backward = _backward
        return out


class ExpAtInput(Value):
    """exp's backward uses its input x where e^x belongs."""

    def exp(self):
        out = type(self)(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += self.data * out.grad

        out._backward = _backward
        return out


class NoTopologicalOrder(Value):
    """backward() runs the closures depth first from the output, before every use of a value has
    pushed its share: a value reached along two paths passes on an incomplete gradient.  (Its
    children are kept in order, so that the walk -- and the bug's effect -- is the same in every
    process; a set's order follows the objects' addresses.)"""

    def __init__(self, data, _children=(), _op=""):
        super().__init__(data, _children, _op)
        self._children = tuple(_children)

    def backward(self):
        self.grad = 1.0
        stack, seen = [self], set()
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            v._backward()
            stack.extend(v._children)


class RsubReversed(Value):
    """2.0 - a computed as a - 2.0: a wrong forward (the gradient of the wrong function is right)."""

    def __rsub__(self, other):
        return self + (-other)
