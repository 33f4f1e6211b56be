"""Whole networks in the conventions of "Deep Learning from Scratch" (Koki Saito,
oreilly-japan/deep-learning-from-scratch, ch05/two_layer_net.py, common/multi_layer_net.py).

The network keeps its parameters in a ``params`` dict ('W1', 'b1', ...); its layers are
built around those very arrays (``Affine(self.params['W1'], self.params['b1'])``), so a
change to a parameter must be made in place to reach them.  ``loss(x, t)`` returns the
scalar loss (softmax with cross-entropy, plus 0.5 lambda sum W^2 with weight decay);
``gradient(x, t)`` runs the forward pass and then the layers' backward, and returns a dict
with params' keys.  Batches are rows; t is labels (or one-hot rows).
"""

from collections import OrderedDict

import numpy as np


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size
        return dx


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)
        self.layers = OrderedDict()
        self.layers['Affine1'] = Affine(self.params['W1'], self.params['b1'])
        self.layers['Relu1'] = Relu()
        self.layers['Affine2'] = Affine(self.params['W2'], self.params['b2'])
        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.lastLayer.forward(y, t)

    def accuracy(self, x, t):
        y = np.argmax(self.predict(x), axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.lastLayer.backward(1)
        for layer in reversed(list(self.layers.values())):
            dout = layer.backward(dout)
        grads = {}
        grads['W1'], grads['b1'] = self.layers['Affine1'].dW, self.layers['Affine1'].db
        grads['W2'], grads['b2'] = self.layers['Affine2'].dW, self.layers['Affine2'].db
        return grads


class MultiLayerNet:
    """Hidden layers of hidden_size_list[i] units (relu or sigmoid), a softmax output, and a weight
    decay of 0.5 lambda sum W^2 in the loss (its lambda W in the gradient).  The book's interface
    and habits (params 'W1', 'b1', ...; layers around those arrays; He or Xavier scales named by a
    string), written afresh."""

    SCALES = {'relu': 2.0, 'he': 2.0, 'sigmoid': 1.0, 'xavier': 1.0}

    def __init__(self, input_size, hidden_size_list, output_size, activation='relu',
                 weight_init_std='relu', weight_decay_lambda=0):
        self.weight_decay_lambda = weight_decay_lambda
        widths = [input_size, *hidden_size_list, output_size]
        self.depth = len(widths) - 1
        self.params = {}
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            gain = self.SCALES.get(str(weight_init_std).lower())
            std = weight_init_std if gain is None else np.sqrt(gain / n_in)
            self.params[f'W{i}'] = std * np.random.randn(n_in, n_out)
            self.params[f'b{i}'] = np.zeros(n_out)
        hidden = {'relu': Relu, 'sigmoid': Sigmoid}[activation]
        self.layers = OrderedDict()
        for i in range(1, self.depth + 1):
            self.layers[f'Affine{i}'] = Affine(self.params[f'W{i}'], self.params[f'b{i}'])
            if i < self.depth:
                self.layers[f'Activation_function{i}'] = hidden()
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        decay = sum(0.5 * self.weight_decay_lambda * np.sum(self.params[f'W{i}'] ** 2)
                    for i in range(1, self.depth + 1))
        return self.last_layer.forward(self.predict(x), t) + decay

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for i in range(1, self.depth + 1):
            affine = self.layers[f'Affine{i}']
            grads[f'W{i}'] = affine.dW + self.weight_decay_lambda * affine.W
            grads[f'b{i}'] = affine.db
        return grads
