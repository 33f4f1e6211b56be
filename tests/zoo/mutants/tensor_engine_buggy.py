"""The NumPy tensor engine's classic bug: a parent's gradient replaced, not summed."""

from zoo.styles.tensor_engine import Tensor


class ReplacesGrad(Tensor):
    """parent.grad = g for every use: a tensor used twice keeps its last use's gradient."""

    def _accumulate(self, g):
        self.grad = g


from zoo.styles.tensor_engine import ArrayOnlyTensor  # noqa: E402


class ArrayOnlyReplacesGrad(ReplacesGrad, ArrayOnlyTensor):
    """The same bug in the engine that takes arrays only."""


from zoo.styles.tensor_engine import GradTensor  # noqa: E402


class GradTensorReplacesGrad(ReplacesGrad, GradTensor):
    """The same bug in the engine whose gradients are Tensors (x.grad.data)."""
