"""Normalisation layers (tests/zoo/styles/norm_layers.py), one bug each."""


from ..styles import norm_layers


class BatchNorm1dNoMeanTerms(norm_layers.BatchNorm1d):
    def backward(self, grad_out):
        self.grad_bias = grad_out.sum(axis=0)
        self.grad_weight = (grad_out * self.x_hat).sum(axis=0)
        return grad_out * self.weight * self.inv_std  # BUG: as if mean and variance were constants


class LayerNormNoMeanTerms(norm_layers.LayerNorm):
    def backward(self, dy):
        D = dy.shape[-1]
        self._dbeta = dy.reshape(-1, D).sum(axis=0)
        self._dgamma = (dy * self._xhat).reshape(-1, D).sum(axis=0)
        return dy * self._gamma * self._rstd  # BUG: the terms through the row's mean and variance are missing


class BatchNorm1dGammaGradAveraged(norm_layers.BatchNorm1d):
    def backward(self, grad_out):
        n = grad_out.shape[0]
        self.grad_bias = grad_out.sum(axis=0)
        self.grad_weight = (grad_out * self.x_hat).mean(axis=0)  # BUG: the mean over the batch, not the sum
        g = grad_out * self.weight
        return self.inv_std / n * (n * g - g.sum(axis=0) - self.x_hat * (g * self.x_hat).sum(axis=0))
