"""Layers in the conventions of ML-From-Scratch (eriklindernoren/ML-From-Scratch,
mlfromscratch/deep_learning/layers.py): a network calls ``set_input_shape(shape)`` (the input's
shape without the batch) and ``initialize(optimizer)`` on each layer before the first forward;
``forward_pass(X, training=True)`` takes rows (N, D); ``backward_pass(accum_grad)`` computes the
parameters' gradients, hands each to its own copy of the optimizer (``W = W_opt.update(W,
grad_w)``), and returns the input gradient computed with the weights as they were.  Written
afresh with the library's interface and habits."""

import copy

import numpy as np


class Layer:
    def set_input_shape(self, shape):
        self.input_shape = shape


class Dense(Layer):
    def __init__(self, n_units, input_shape=None):
        self.n_units = n_units
        self.input_shape = input_shape
        self.trainable = True
        self.W = self.w0 = self.layer_input = None

    def initialize(self, optimizer):
        bound = 1 / np.sqrt(self.input_shape[0])
        self.W = np.random.uniform(-bound, bound, (self.input_shape[0], self.n_units))
        self.w0 = np.zeros((1, self.n_units))
        self.W_opt, self.w0_opt = copy.copy(optimizer), copy.copy(optimizer)

    def forward_pass(self, X, training=True):
        self.layer_input = X
        return X.dot(self.W) + self.w0

    def backward_pass(self, accum_grad):
        used = self.W  # the weights of the forward pass: the input gradient is taken with them
        if self.trainable:
            self.W = self.W_opt.update(self.W, self.layer_input.T.dot(accum_grad))
            self.w0 = self.w0_opt.update(self.w0, accum_grad.sum(axis=0, keepdims=True))
        return accum_grad.dot(used.T)


class TanH:
    def __call__(self, x):
        return 2 / (1 + np.exp(-2 * x)) - 1

    def gradient(self, x):
        return 1 - self(x) ** 2


class Activation(Layer):
    def __init__(self, name):
        self.activation_func = {"tanh": TanH}[name]()
        self.trainable = True

    def forward_pass(self, X, training=True):
        self.layer_input = X
        return self.activation_func(X)

    def backward_pass(self, accum_grad):
        return accum_grad * self.activation_func.gradient(self.layer_input)
