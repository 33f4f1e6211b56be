"""cs231n-style TwoLayerNet models (tests/zoo/styles/cs231n_models.py), each with one bug
in its loss method's gradients."""

import numpy as np

from ..styles.cs231n_layers import affine_backward, affine_forward, relu_forward, softmax_loss
from ..styles.cs231n_models import TwoLayerNet


class _TwoLayerNet(TwoLayerNet):
    def _forward(self, X):
        hidden, cache_h = affine_forward(X, self.params["W1"], self.params["b1"])
        hidden_relu, cache_r = relu_forward(hidden)
        scores, cache_s = affine_forward(hidden_relu, self.params["W2"], self.params["b2"])
        return scores, (cache_h, cache_r, cache_s)

    def _reg_loss(self):
        return 0.5 * self.reg * (np.sum(self.params["W1"] ** 2) + np.sum(self.params["W2"] ** 2))


class TwoLayerNetLossSummed(_TwoLayerNet):
    """dscores is not divided by N: every data gradient is N times too large."""

    def loss(self, X, y=None):
        scores, (cache_h, cache_r, cache_s) = self._forward(X)
        if y is None:
            return scores
        N = X.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(N), y])) + self._reg_loss()
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1  # BUG: the mean's 1/N is forgotten (dscores /= N)
        grads = {}
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache_s)
        dh = dh * (cache_r > 0)
        _, grads["W1"], grads["b1"] = affine_backward(dh, cache_h)
        grads["W2"] += self.reg * self.params["W2"]
        grads["W1"] += self.reg * self.params["W1"]
        return loss, grads


class TwoLayerNetReluMaskIgnored(_TwoLayerNet):
    """The hidden ReLU's backward passes the gradient through unmasked."""

    def loss(self, X, y=None):
        scores, (cache_h, cache_r, cache_s) = self._forward(X)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache_s)
        # BUG: relu_backward(dh, cache_r) is skipped: the mask (hidden > 0) is not applied
        _, grads["W1"], grads["b1"] = affine_backward(dh, cache_h)
        grads["W2"] += self.reg * self.params["W2"]
        grads["W1"] += self.reg * self.params["W1"]
        return loss + self._reg_loss(), grads


class TwoLayerNetNoRegGradient(_TwoLayerNet):
    """The loss carries 0.5 * reg * sum(W ** 2) but the gradients leave out reg * W."""

    def loss(self, X, y=None):
        scores, (cache_h, cache_r, cache_s) = self._forward(X)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache_s)
        _, grads["W1"], grads["b1"] = affine_backward(dh * (cache_r > 0), cache_h)
        return loss + self._reg_loss(), grads  # BUG: grads["W1"] += reg * W1, likewise W2, are missing
