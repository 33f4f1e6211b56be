"""A NumPy-backed autodiff engine in torch's habits, as "autograd from scratch" tutorials write it:
``Tensor(data, requires_grad=False)``, ``grad`` None until backward() reaches it, ``_ctx`` holding
the parents and a closure that returns their gradients (instead of micrograd's closures that add
into them), and backward(grad=None) seeding ones.  Written for gradcert's zoo in those habits."""

import numpy as np


class Tensor:
    def __init__(self, data, requires_grad=False, _parents=(), _grads=None):
        self.data = np.asarray(data, dtype=np.float64)
        self.requires_grad = requires_grad or any(p.requires_grad for p in _parents)
        self.grad = None
        self._parents, self._grads = _parents, _grads

    def _wrap(self, x):
        return x if isinstance(x, Tensor) else type(self)(x)

    def _make(self, data, parents, grads):
        return type(self)(data, _parents=parents, _grads=grads)

    def __add__(self, other):
        other = self._wrap(other)
        return self._make(self.data + other.data, (self, other), lambda g: (g, g))

    def __mul__(self, other):
        other = self._wrap(other)
        return self._make(self.data * other.data, (self, other), lambda g: (g * other.data, g * self.data))

    def __truediv__(self, other):
        other = self._wrap(other)
        return self._make(self.data / other.data, (self, other),
                          lambda g: (g / other.data, -g * self.data / other.data**2))

    def __pow__(self, k):
        return self._make(self.data**k, (self,), lambda g: (g * k * self.data ** (k - 1),))

    def __neg__(self):
        return self._make(-self.data, (self,), lambda g: (-g,))

    def __sub__(self, other):
        return self + (-self._wrap(other))

    def __radd__(self, other):
        return self._wrap(other) + self

    def __rsub__(self, other):
        return self._wrap(other) - self

    def __rmul__(self, other):
        return self._wrap(other) * self

    def __rtruediv__(self, other):
        return self._wrap(other) / self

    def tanh(self):
        t = np.tanh(self.data)
        return self._make(t, (self,), lambda g: (g * (1 - t * t),))

    def exp(self):
        e = np.exp(self.data)
        return self._make(e, (self,), lambda g: (g * e,))

    def relu(self):
        return self._make(np.maximum(self.data, 0), (self,), lambda g: (g * (self.data > 0),))

    def backward(self, grad=None):
        order, seen = [], set()

        def visit(t):
            if id(t) not in seen:
                seen.add(id(t))
                for p in t._parents:
                    visit(p)
                order.append(t)

        visit(self)
        self.grad = np.ones_like(self.data) if grad is None else grad
        for t in reversed(order):
            if t._grads is None or t.grad is None:
                continue
            for parent, g in zip(t._parents, t._grads(t.grad)):
                if parent.requires_grad:
                    parent._accumulate(g)

    def _accumulate(self, g):
        self.grad = g if self.grad is None else self.grad + g


class ArrayOnlyTensor(Tensor):
    """The tensor engine as some tutorials write it: its data must already be an array."""

    def __init__(self, data, requires_grad=False, _parents=(), _grads=None):
        if type(data) in (int, float, list):
            raise TypeError(f"Tensor wants a numpy array, not {type(data).__name__}")
        super().__init__(data, requires_grad, _parents, _grads)

    def _wrap(self, x):
        return x if isinstance(x, Tensor) else type(self)(np.asarray(x, dtype=np.float64))


class GradTensor(Tensor):
    """The tensor engine as ash-01xor/Torch-Kutti and early tinygrad keep a gradient: as a Tensor of
    its own (x.grad.data holds the number), the backward closures computing on Tensors."""

    def backward(self, grad=None):
        super().backward(type(self)(np.ones_like(self.data)) if grad is None else grad)
