"""Layers in the FAU Erlangen deep-learning exercises' conventions (afresh): ``forward(input_tensor)``,
``backward(error_tensor)``, the weights holding the bias as their last row (the input gets a column of
ones), ``gradient_weights`` a property over ``_gradient_weights``, an ``optimizer`` property that is
None until the network sets one, and backward stepping with ``optimizer.calculate_update(w, g)``.

* ``FullyConnected``: dx from the weights before the step;
* ``FullyConnectedStepFirst`` (mutant): dx from the weights after the step, a habit of those exercises'
  solutions that their tests without an optimizer do not see.
Both keep a ``bias`` array that forward never reads.
"""

import numpy as np


class FullyConnected:
    step_first = False

    def __init__(self, input_size, output_size):
        self.trainable = True
        self.weights = np.random.uniform(0, 1, (input_size + 1, output_size))
        self.bias = np.random.uniform(0, 1, output_size)
        self._optimizer = None
        self._gradient_weights = None

    @property
    def optimizer(self):
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        self._optimizer = optimizer

    @property
    def gradient_weights(self):
        return self._gradient_weights

    def forward(self, input_tensor):
        self.input_tensor = np.hstack([input_tensor, np.ones((input_tensor.shape[0], 1))])
        return self.input_tensor @ self.weights

    def backward(self, error_tensor):
        self._gradient_weights = self.input_tensor.T @ error_tensor
        before = error_tensor @ self.weights[:-1].T
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self._gradient_weights)
        return error_tensor @ self.weights[:-1].T if self.step_first else before


class FullyConnectedStepFirst(FullyConnected):
    step_first = True


class Plain:
    """The same layer before its exercise adds optimizers: no optimizer slot."""

    def __init__(self, input_size, output_size):
        self.weights = np.random.uniform(0, 1, (input_size + 1, output_size))
        self.bias = np.random.uniform(0, 1, output_size)
        self._gradient_weights = None

    def forward(self, input_tensor):
        self.input_tensor = np.hstack([input_tensor, np.ones((input_tensor.shape[0], 1))])
        return self.input_tensor @ self.weights

    def backward(self, error_tensor):
        self._gradient_weights = self.input_tensor.T @ error_tensor
        return error_tensor @ self.weights[:-1].T


class PlainReadsItsBias(Plain):
    """Its bias is read, and no gradient of it is kept: an interface to name, not a parameter to drop."""

    def forward(self, input_tensor):
        return super().forward(input_tensor) + self.bias
