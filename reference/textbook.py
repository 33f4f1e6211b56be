"""The assumptions under which the textbook's BP1-BP4 are the gradient.

Each names a shortcut the printed equations take, which is exact only while
the assumption holds.  A step of the reference that depends on one has two
backward forms: the true one, and the textbook's (``textbook``), and the
difference between them is the step's ``repair``: the term the textbook
leaves out, written down on its own, so that textbook + repair = the
gradient is something the oracles can check.

* ``elementwise`` (seed 003, footnote 4): z_j influences a_j only, so
  BP1/BP2's delta = (upstream) * sigma'(z) elementwise.  Broken by softmax,
  layer normalisation and maxout, whose Jacobians are not diagonal.
* ``separable`` (seed 000): C is the mean of per-example costs C_x, each a
  function of its own example, so each example's gradient can be taken along
  its own path.  Broken by batch normalisation, which couples the examples.
* ``outputs-alone`` (seed 000): C is a function of the outputs a^L alone.
  Broken by the penalties: L2 and L1 on the weights, an activity penalty on a
  hidden layer.
* ``layered-chain`` (BP2): each layer's activation feeds the next layer
  only, so delta^l = (w^{l+1})^T delta^{l+1} * sigma'(z^l) sums over one
  successor.  Broken by a residual connection.
* ``single-use`` (BP4): each weight is used once, so dC/dw^l = delta^l
  (a^{l-1})^T.  Broken by weight tying.
"""

from dataclasses import dataclass

import numpy as np

ELEMENTWISE = "elementwise"
SEPARABLE = "separable"
OUTPUTS_ALONE = "outputs-alone"
LAYERED_CHAIN = "layered-chain"
SINGLE_USE = "single-use"

ASSUMPTIONS = (ELEMENTWISE, SEPARABLE, OUTPUTS_ALONE, LAYERED_CHAIN, SINGLE_USE)


@dataclass(frozen=True)
class Repair:
    """One repair term a backward pass added: in weight layer ``layer`` (from 0), to
    ``where`` (``dC/dz``, ``dC/da``, ``nabla_w[l]``), the term ``formula`` names."""

    layer: int
    where: str
    formula: str
    term: np.ndarray


class Record:
    """What one backward pass met: each layer's delta (dC/dz), and, when ``repair``
    is True, the repair terms it added (``Repair``), in the order met."""

    def __init__(self, repair=False):
        self.repair, self.deltas, self.repairs = repair, {}, []

    def add(self, layer, where, formula, term):
        self.repairs.append(Repair(layer, where, formula, term))
        return term

    def plus(self, total, term, assumption, assumed, layer, where, formula):
        """``total + term`` for a term (None: there is none) the textbook leaves out under
        ``assumption``: left out where ``assumed`` takes it for granted, unless repaired."""
        if term is None or (assumption in assumed and not self.repair):
            return total
        if assumption in assumed:
            self.add(layer, where, formula, term)
        return term if total is None else total + term


class Step:
    """One piece of a layer's forward pass beside its backward forms.

    ``forward(z) -> (out, cache)``; ``vjp(cache, g)`` is the true backward step
    (dC/dz from g = dC/dout); ``textbook(cache, g)`` the form the textbook
    prints, taken for granted under ``assumption``; ``repair(cache, g)`` the
    term it leaves out.  A step that no assumption concerns has one form.
    """

    name = "step"
    assumption = None
    coupled = True  # whether the textbook's form leaves anything out (an elementwise sigma: no)
    formula = ""  # the repair term, in words and symbols

    def textbook(self, cache, g):
        return self.vjp(cache, g)

    def repair(self, cache, g):
        return 0.0 * self.textbook(cache, g)

    def backward(self, cache, g, assumed=(), record=None, layer=None):
        """The true step; where ``assumed`` takes this step's assumption for granted, the
        textbook's, plus its repair term when ``record`` (a ``Record``) asks for repairs."""
        if self.assumption not in assumed:
            return self.vjp(cache, g)
        delta = self.textbook(cache, g)
        if record is None or not record.repair or not self.coupled:
            return delta
        return delta + record.add(layer, f"dC/dz ({self.name})", self.formula, self.repair(cache, g))
