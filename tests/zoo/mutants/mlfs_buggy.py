"""Mutants of tests/zoo/styles/mlfs_layers.py, one bug each."""

from ..styles.mlfs_layers import Dense


class DenseUpdatedWeightsBackward(Dense):
    def backward_pass(self, accum_grad):
        if self.trainable:
            self.W = self.W_opt.update(self.W, self.layer_input.T.dot(accum_grad))
            self.w0 = self.w0_opt.update(self.w0, accum_grad.sum(axis=0, keepdims=True))
        return accum_grad.dot(self.W.T)  # BUG: the input gradient taken with the weights just stepped
