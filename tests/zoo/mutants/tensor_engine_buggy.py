"""The NumPy tensor engine's classic bug: a parent's gradient replaced, not summed."""

import numpy as np

from zoo.styles.tensor_engine import Tensor


class ReplacesGrad(Tensor):
    """parent.grad = g for every use: a tensor used twice keeps its last use's gradient."""

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
                    parent.grad = g


from zoo.styles.tensor_engine import ArrayOnlyTensor  # noqa: E402


class ArrayOnlyReplacesGrad(ReplacesGrad, ArrayOnlyTensor):
    """The same bug in the engine that takes arrays only."""
