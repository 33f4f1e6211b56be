"""Step-only code: implementations that apply their own gradient and never show it.

* ``Dense`` / ``Tanh`` -- The Independent Code's "neural network from scratch"
  convention: column-major (features, examples), ``backward(output_gradient,
  learning_rate)`` updates the layer's own ``weights`` and ``bias`` by plain
  SGD and returns the input gradient (computed with the weights as they were).
* ``DenseSGD`` -- the Yandex "Practical_DL" seminar's Dense: constructed with a
  ``learning_rate``; ``backward(input, grad_output)`` takes one SGD step on
  ``weights``/``biases`` and returns the input gradient.  Row-major.
* ``StepOnlyNetwork`` -- network.py's ``Network(sizes)`` and
  ``update_mini_batch(mini_batch, eta)`` (sigmoid, quadratic cost), with the
  whole mini-batch stacked into one matrix and no public ``backprop``.

The gradient a step applied is (before - after) / learning rate.
"""

import numpy as np


class Dense:
    def __init__(self, input_size, output_size):
        self.weights = np.random.randn(output_size, input_size)
        self.bias = np.random.randn(output_size, 1)

    def forward(self, input):
        self.input = input
        return np.dot(self.weights, self.input) + self.bias

    def backward(self, output_gradient, learning_rate):
        weights_gradient = np.dot(output_gradient, self.input.T)
        input_gradient = np.dot(self.weights.T, output_gradient)
        self.weights -= learning_rate * weights_gradient
        self.bias -= learning_rate * np.sum(output_gradient, axis=1, keepdims=True)
        return input_gradient


class Tanh:
    def forward(self, input):
        self.input = input
        return np.tanh(input)

    def backward(self, output_gradient, learning_rate):
        return np.multiply(output_gradient, 1 - np.tanh(self.input) ** 2)


class DenseSGD:
    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.weights = np.random.normal(loc=0.0, scale=np.sqrt(2 / (input_units + output_units)),
                                        size=(input_units, output_units))
        self.biases = np.zeros(output_units)

    def forward(self, input):
        return np.dot(input, self.weights) + self.biases

    def backward(self, input, grad_output):
        grad_input = np.dot(grad_output, self.weights.T)
        grad_weights = np.dot(input.T, grad_output)
        grad_biases = grad_output.sum(axis=0)
        assert grad_weights.shape == self.weights.shape and grad_biases.shape == self.biases.shape
        self.weights = self.weights - self.learning_rate * grad_weights
        self.biases = self.biases - self.learning_rate * grad_biases
        return grad_input


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class StepOnlyNetwork:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def update_mini_batch(self, mini_batch, eta):
        """One SGD step on the quadratic cost, every example of the batch at once:
        X is (n_in, m), and each layer's delta is (n_out, m)."""
        X = np.hstack([x for x, _ in mini_batch])
        Y = np.hstack([y for _, y in mini_batch])
        m = X.shape[1]
        activations, zs = [X], []
        for b, w in zip(self.biases, self.weights):
            zs.append(w @ activations[-1] + b)
            activations.append(sigmoid(zs[-1]))
        delta = (activations[-1] - Y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        new_weights, new_biases = list(self.weights), list(self.biases)
        for l in range(1, self.num_layers):
            new_biases[-l] = self.biases[-l] - (eta / m) * delta.sum(axis=1, keepdims=True)
            new_weights[-l] = self.weights[-l] - (eta / m) * delta @ activations[-l - 1].T
            if l < self.num_layers - 1:
                s = sigmoid(zs[-l - 1])
                delta = (self.weights[-l].T @ delta) * s * (1 - s)
        self.weights, self.biases = new_weights, new_biases
