"""Layers on column-major batches, (features, examples), as Nielsen's book lays out
vectors and as "neural network from scratch" tutorials (The Independent Code's
Dense/Activation classes) write them.

``forward(input)`` keeps ``self.input``; ``backward(output_gradient)`` returns the
input gradient.  Dense keeps ``weights`` (output_size, input_size) and ``bias``
(output_size, 1); its gradients go to ``grad_weights`` and ``grad_bias``.
Activations are an ``Activation(activation, activation_prime)`` base class.
"""

import numpy as np


class Layer:
    def __init__(self):
        self.input = None
        self.output = None

    def forward(self, input):
        raise NotImplementedError

    def backward(self, output_gradient):
        raise NotImplementedError


class Dense(Layer):
    def __init__(self, input_size, output_size):
        super().__init__()
        self.weights = np.random.randn(output_size, input_size)
        self.bias = np.random.randn(output_size, 1)
        self.grad_weights = np.zeros_like(self.weights)
        self.grad_bias = np.zeros_like(self.bias)

    def forward(self, input):
        self.input = input
        return np.dot(self.weights, self.input) + self.bias

    def backward(self, output_gradient):
        self.grad_weights = np.dot(output_gradient, self.input.T)
        self.grad_bias = np.sum(output_gradient, axis=1, keepdims=True)
        return np.dot(self.weights.T, output_gradient)


class Activation(Layer):
    def __init__(self, activation, activation_prime):
        super().__init__()
        self.activation = activation
        self.activation_prime = activation_prime

    def forward(self, input):
        self.input = input
        return self.activation(self.input)

    def backward(self, output_gradient):
        return np.multiply(output_gradient, self.activation_prime(self.input))


class Tanh(Activation):
    def __init__(self):
        def tanh(x):
            return np.tanh(x)

        def tanh_prime(x):
            return 1 - np.tanh(x) ** 2

        super().__init__(tanh, tanh_prime)


class Sigmoid(Activation):
    def __init__(self):
        def sigmoid(x):
            return 1 / (1 + np.exp(-x))

        def sigmoid_prime(x):
            s = sigmoid(x)
            return s * (1 - s)

        super().__init__(sigmoid, sigmoid_prime)


class Softmax(Layer):
    """Softmax over each column; backward multiplies by the Jacobian
    diag(s) - s s^T of each column (symmetric, so J^T = J)."""

    def forward(self, input):
        tmp = np.exp(input - np.max(input, axis=0, keepdims=True))
        self.output = tmp / np.sum(tmp, axis=0, keepdims=True)
        return self.output

    def backward(self, output_gradient):
        n = self.output.shape[0]
        input_gradient = np.empty_like(output_gradient)
        for j in range(self.output.shape[1]):
            s = self.output[:, [j]]
            jacobian = (np.identity(n) - s.T) * s  # row i: s_i * (delta_ik - s_k)
            input_gradient[:, [j]] = np.dot(jacobian, output_gradient[:, [j]])
        return input_gradient
