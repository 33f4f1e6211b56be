"""Recurrent layers as Deep Learning from Scratch 2 writes them (afresh): ``params`` and ``grads`` lists,
and beside them the last hidden state ``h``, which every forward resets (not stateful), with the
``dh`` its backward leaves for the layer before.

* ``TimeRNN(Wx, Wh, b)``: x (N, T, D), Wx (D, H), Wh (H, H), b (H,);
* ``TimeRNNLastStepWh`` (mutant): dWh keeps the last time step's term alone;
* ``TimeSoftmaxWithLoss``: forward(xs, ts), its labels under a plural name; ``TimeSoftmaxWithLossNotMean``
  (mutant): its backward without the mean's 1 / (N T).
"""

import numpy as np


class TimeRNN:
    accumulate = True

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.h, self.dh = None, None
        self.stateful = stateful

    def forward(self, xs):
        Wx, Wh, b = self.params
        n, t, _ = xs.shape
        if not self.stateful or self.h is None:
            self.h = np.zeros((n, Wh.shape[0]))
        self.cache = []
        hs = np.empty((n, t, Wh.shape[0]))
        for k in range(t):
            h_prev = self.h
            self.h = np.tanh(xs[:, k, :] @ Wx + h_prev @ Wh + b)
            self.cache.append((xs[:, k, :], h_prev, self.h))
            hs[:, k, :] = self.h
        return hs

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        dxs = np.empty(dhs.shape[:2] + (Wx.shape[0],))
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
        dh = 0
        for k in reversed(range(dhs.shape[1])):
            x, h_prev, h_next = self.cache[k]
            dt = (dhs[:, k, :] + dh) * (1 - h_next**2)
            dxs[:, k, :] = dt @ Wx.T
            dh = dt @ Wh.T
            dWx += x.T @ dt
            dWh = dWh + h_prev.T @ dt if self.accumulate or k == dhs.shape[1] - 1 else dWh
            db += dt.sum(axis=0)
        for grad, value in zip(self.grads, (dWx, dWh, db)):
            grad[...] = value
        self.dh = dh
        return dxs


class TimeRNNLastStepWh(TimeRNN):
    accumulate = False


class TimeSoftmaxWithLoss:
    """The loss over a sequence of scores: forward(xs, ts), xs (N, T, V), ts (N, T) labels."""

    divide = True

    def __init__(self):
        self.params, self.grads = [], []

    def forward(self, xs, ts):
        n, t, v = xs.shape
        flat, labels = xs.reshape(n * t, v), ts.reshape(n * t)
        e = np.exp(flat - flat.max(axis=1, keepdims=True))
        ys = e / e.sum(axis=1, keepdims=True)
        self.cache = (labels, ys, (n, t, v))
        return -np.sum(np.log(ys[np.arange(n * t), labels])) / (n * t)

    def backward(self, dout=1):
        labels, ys, (n, t, v) = self.cache
        dx = ys.copy()
        dx[np.arange(n * t), labels] -= 1
        dx *= dout
        if self.divide:
            dx /= n * t
        return dx.reshape(n, t, v)


class TimeSoftmaxWithLossNotMean(TimeSoftmaxWithLoss):  # mutant: the mean's 1 / (N T) left out
    divide = False
