"""Step-only code (tests/zoo/styles/step_layers.py), one bug each."""

import numpy as np

from ..styles import step_layers


class DenseUpdatesBeforeInputGradient(step_layers.Dense):
    def backward(self, output_gradient, learning_rate):
        weights_gradient = np.dot(output_gradient, self.input.T)
        self.weights -= learning_rate * weights_gradient
        self.bias -= learning_rate * np.sum(output_gradient, axis=1, keepdims=True)
        return np.dot(self.weights.T, output_gradient)  # BUG: the input gradient uses the updated weights


class DenseSGDBiasAscends(step_layers.DenseSGD):
    def backward(self, input, grad_output):
        grad_input = np.dot(grad_output, self.weights.T)
        grad_weights = np.dot(input.T, grad_output)
        grad_biases = grad_output.sum(axis=0)
        self.weights = self.weights - self.learning_rate * grad_weights
        self.biases = self.biases + self.learning_rate * grad_biases  # BUG: the bias step climbs
        return grad_input


class StepOnlyNetworkSummed(step_layers.StepOnlyNetwork):
    def update_mini_batch(self, mini_batch, eta):
        # BUG: eta * sum where (eta / m) * sum belongs: the step runs as if m were 1
        super().update_mini_batch(mini_batch, eta * len(mini_batch))
