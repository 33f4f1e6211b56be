"""Stateless layers: backward is handed the input again and keeps nothing.

The convention of the Yandex School of Data Analysis "Practical_DL" numpy
seminar: ``forward(input)`` and ``backward(input, grad_output)`` returning
d loss / d input, row-major batches (N, D).  Some codebases put the upstream
gradient first, ``backward(dout, x)``: the ``*DoutFirst`` classes do, and say
so by their parameter names.
"""

import numpy as np


class Layer:
    def forward(self, input):
        return input

    def backward(self, input, grad_output):
        num_units = input.shape[1]
        d_layer_d_input = np.eye(num_units)
        return np.dot(grad_output, d_layer_d_input)  # chain rule


class ReLU(Layer):
    def forward(self, input):
        return np.maximum(0, input)

    def backward(self, input, grad_output):
        relu_grad = input > 0
        return grad_output * relu_grad


class Sigmoid(Layer):
    def forward(self, input):
        return 1.0 / (1.0 + np.exp(-input))

    def backward(self, input, grad_output):
        s = self.forward(input)
        return grad_output * s * (1.0 - s)


class SoftmaxRows(Layer):
    """Softmax over each row; backward J^T g = s * (g - <s, g>) without building J."""

    def forward(self, input):
        e = np.exp(input - input.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, input, grad_output):
        s = self.forward(input)
        return s * (grad_output - np.sum(s * grad_output, axis=1, keepdims=True))


class TanhDoutFirst:
    def forward(self, x):
        return np.tanh(x)

    def backward(self, dout, x):
        return dout * (1.0 - np.tanh(x) ** 2)


class LeakyReLUDoutFirst:
    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        return np.where(x > 0, x, self.negative_slope * x)

    def backward(self, dout, x):
        return dout * np.where(x > 0, 1.0, self.negative_slope)
