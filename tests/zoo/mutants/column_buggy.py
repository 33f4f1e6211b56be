"""Column-major layers (tests/zoo/styles/column_layers.py), each with one bug in backward."""

import numpy as np

from ..styles import column_layers


class DenseWeightGradSignFlipped(column_layers.Dense):
    def backward(self, output_gradient):
        self.grad_weights = np.dot(self.input, output_gradient.T).T * -1  # BUG: sign flipped
        self.grad_bias = np.sum(output_gradient, axis=1, keepdims=True)
        return np.dot(self.weights.T, output_gradient)


class SoftmaxElementwise(column_layers.Softmax):
    def backward(self, output_gradient):
        # BUG: only the diagonal of the Jacobian, s * (1 - s), taken elementwise
        return output_gradient * self.output * (1 - self.output)
