"""Functions of positive inputs alone, as their authors write them: a log layer, a square root, a
loss of probabilities with one-hot labels, a log pair; and each one's mutant.  gradcert draws
their inputs positive, having seen the forward fail at inputs <= 0."""

import numpy as np


class Log:
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, dout):
        return dout / self.x


class LogSquared:  # mutant: d log x = 1 / x^2
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, dout):
        return dout / self.x**2


class Sqrt:
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, dout):
        return dout / (2 * self.out)


class SqrtNoHalf:  # mutant: the 1/2 left out
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, dout):
        return dout / self.out


class NegLogLoss:
    """-sum t log p / N of given probabilities p and one-hot rows t."""

    def forward(self, p, t):
        self.p, self.t = p, t
        return -np.sum(t * np.log(p)) / p.shape[0]

    def backward(self, dout=1):
        return -dout * self.t / self.p / self.p.shape[0]


class NegLogLossNoMean:  # mutant: the 1/N left out of backward
    def forward(self, p, t):
        self.p, self.t = p, t
        return -np.sum(t * np.log(p)) / p.shape[0]

    def backward(self, dout=1):
        return -dout * self.t / self.p


class MathLog:
    """Raises at x <= 0 (math.log's ValueError), rather than returning NaN."""

    def forward(self, x):
        import math

        self.x = x
        return np.vectorize(math.log)(x)

    def backward(self, dout):
        return dout / self.x


def log_forward(x):
    return np.log(x), x


def log_backward(dout, cache):
    return dout / cache


def logwrong_forward(x):
    return np.log(x), x


def logwrong_backward(dout, cache):  # mutant: right for x > 1 alone
    return np.where(cache > 1, dout / cache, 0.0)


class Clip:
    """Not finite at x <= 0 through a bug, not a domain: backward is NaN where forward is finite."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, dout):
        return dout * 2 * np.sqrt(self.x) ** 2


class ClippedGradient:
    """A hostile candidate: tanh's backward right for |x| <= 3 alone (its gradient clipped there)."""

    def forward(self, x):
        self.x = x
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return np.where(np.abs(self.x) <= 3, dout * (1 - self.out**2), 0.0)
