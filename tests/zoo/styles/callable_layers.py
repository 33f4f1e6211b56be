"""Keras-like layers: called as ``layer(x)``, built lazily on the first call.

``Dense(units)`` creates ``kernel`` (input_dim, units) and ``bias`` (units,) in
``build(input_shape)`` the first time it is called, as a Keras layer does, so
nothing exists to inspect before a forward; ``backward(dy)`` stores the
gradients as ``dkernel`` / ``dbias`` and returns dx.  Batches are rows (N, D).
"""

import numpy as np


class Layer:
    def __init__(self):
        self.built = False

    def build(self, input_shape):
        self.built = True

    def __call__(self, inputs):
        if not self.built:
            self.build(inputs.shape)
        return self.call(inputs)


class Dense(Layer):
    def __init__(self, units, use_bias=True):
        super().__init__()
        self.units = units
        self.use_bias = use_bias

    def build(self, input_shape):
        input_dim = input_shape[-1]
        limit = np.sqrt(6.0 / (input_dim + self.units))  # glorot_uniform
        self.kernel = np.random.uniform(-limit, limit, (input_dim, self.units))
        if self.use_bias:
            self.bias = np.zeros(self.units)
        super().build(input_shape)

    def call(self, inputs):
        self.inputs = inputs
        outputs = inputs @ self.kernel
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs

    def backward(self, dy):
        self.dkernel = self.inputs.T @ dy
        if self.use_bias:
            self.dbias = dy.sum(axis=0)
        return dy @ self.kernel.T


class Tanh(Layer):
    def call(self, inputs):
        self.outputs = np.tanh(inputs)
        return self.outputs

    def backward(self, dy):
        return dy * (1.0 - np.square(self.outputs))


class LeakyReLU(Layer):
    def __init__(self, alpha=0.3):  # Keras' default negative slope
        super().__init__()
        self.alpha = alpha

    def call(self, inputs):
        self.inputs = inputs
        return np.maximum(inputs, self.alpha * inputs)

    def backward(self, dy):
        return np.where(self.inputs >= 0, dy, self.alpha * dy)
