"""The zoo's index: every correct implementation and every mutant, as plain data.

Each entry is a dict:

* ``target``    -- ``path/to/file.py:Name``, relative to the repository root, as
                   ``gradcert check`` takes it;
* ``kind``      -- ``network`` (network.py's interface), ``layer`` or ``function``;
* ``cost``      -- the cost a network implements (``None`` for the other kinds);
* ``activation``-- ``sigmoid`` for the networks, the layer's function for layers
                   (``None`` for batch norm, and for functions, whose arch says);
* ``bug``       -- one line; ``None`` for the correct ones;
* ``signature`` -- the diagnosis the harness should give, or ``None`` where no
                   named diagnosis fits: ``sigma_prime_missing``,
                   ``sigma_prime_extra``, ``sigma_prime_at_a``, ``transposed``,
                   ``sign_flipped``, ``factor_m``, ``factor_1_over_m``,
                   ``layer_zero``, ``bp2_untransposed``, ``mutated_inputs``,
                   ``mutated_weights`` (gradcert diagnoses networks and functions;
                   a layer's signature is documentation only);
* ``shows_via`` -- what exposes the bug: ``backprop`` (the gradient),
                   ``update_mini_batch`` (the SGD step), ``mutation`` (inputs
                   changed); ``None`` for the correct ones;
* ``needs``     -- the case the bug needs in order to show, ``None`` if any
                   generic case shows it;
* ``layer_size``-- only for layers whose constructor takes the width n.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository root
_C, _M = "tests/zoo/correct/", "tests/zoo/mutants/"


def _net(target, cost="quadratic", bug=None, signature=None, shows_via=None, needs=None):
    return {"target": target, "kind": "network", "cost": cost, "activation": "sigmoid",
            "bug": bug, "signature": signature, "shows_via": shows_via, "needs": needs}


def _layer(target, activation, bug=None, signature=None, needs=None, layer_size=None):
    entry = {"target": target, "kind": "layer", "cost": None, "activation": activation,
             "bug": bug, "signature": signature, "shows_via": bug and "backprop", "needs": needs}
    if layer_size is not None:
        entry["layer_size"] = layer_size
    return entry


def _function(target, bug=None, signature=None, needs=None):
    return {"target": target, "kind": "function", "cost": None, "activation": None,
            "bug": bug, "signature": signature, "shows_via": bug and "backprop", "needs": needs}


_LAYERS = _C + "layers_correct.py:"

CORRECT = [
    _net(_C + "nielsen_network.py:Network"),
    _net(_C + "nielsen_network2.py:Network2Quadratic"),
    _net(_C + "nielsen_network2.py:Network2CrossEntropy", cost="cross-entropy"),
    _net(_C + "matrix_form.py:Network"),
    _net(_C + "einsum_form.py:Network"),
    _net(_C + "loops_form.py:Network"),
    _net(_C + "cross_entropy_net.py:Network", cost="cross-entropy"),
    _layer(_LAYERS + "SigmoidLayer", "sigmoid"),
    _layer(_LAYERS + "TanhLayer", "tanh"),
    _layer(_LAYERS + "ReLULayerZero", "relu"),
    _layer(_LAYERS + "ReLULayerOne", "relu"),  # subgradient 1 at 0: differs from torch only at x == 0
    _layer(_LAYERS + "SoftmaxJacobian", "softmax"),
    _layer(_LAYERS + "SoftmaxShortcut", "softmax"),
    _layer(_LAYERS + "BatchNormLayer", None, layer_size=4),
    _function(_C + "functional_grad.py:grad"),
]

MUTANTS = [
    _net(_M + "sigma_prime_dropped.py:Network",
         bug="output error omits sigma'(z^L)", signature="sigma_prime_missing", shows_via="backprop"),
    _net(_M + "sigma_prime_doubled.py:Network",
         bug="BP2 multiplies by sigma'(z) twice in hidden layers", signature="sigma_prime_extra",
         shows_via="backprop", needs="a hidden layer (len(sizes) >= 3)"),
    _net(_M + "sigma_prime_at_a.py:Network",
         bug="sigma' evaluated at a instead of z", signature="sigma_prime_at_a", shows_via="backprop"),
    _net(_M + "missing_transpose_bp2.py:Network",
         bug="BP2 uses w instead of w.T when w is square", signature="bp2_untransposed",
         shows_via="backprop", needs="two consecutive equal hidden widths, e.g. [3, 4, 4, 2]"),
    _net(_M + "transposed_nabla_w.py:Network",
         bug="nabla_w returned transposed for square weight matrices", signature="transposed",
         shows_via="backprop", needs="a square weight matrix (n_out == n_in)"),
    _net(_M + "off_by_one_layer.py:Network",
         bug="hidden loop stops one layer early: first layer's gradient stays zero",
         signature="layer_zero", shows_via="backprop", needs="a hidden layer (len(sizes) >= 3)"),
    _net(_M + "wrong_cost_derivative.py:Network",
         bug="cost_derivative returns y - a", signature="sign_flipped", shows_via="backprop"),
    _net(_M + "cross_entropy_with_sigma_prime.py:Network", cost="cross-entropy",
         bug="cross-entropy output error keeps sigma'(z^L)", signature="sigma_prime_extra",
         shows_via="backprop"),
    _net(_M + "quadratic_missing_sigma_prime.py:Network",
         bug="QuadraticCost.delta is a - y (network2 style)", signature="sigma_prime_missing",
         shows_via="backprop"),
    _net(_M + "sign_error_bias.py:Network",
         bug="hidden layers' nabla_b = -delta", signature="sign_flipped", shows_via="backprop",
         needs="a hidden layer (len(sizes) >= 3)"),
    _net(_M + "bias_grad_not_delta.py:Network",
         bug="nabla_b = delta * a^l instead of delta", signature=None, shows_via="backprop"),
    _net(_M + "update_sum_not_mean.py:Network",
         bug="update uses eta * sum instead of (eta/m) * sum", signature="factor_m",
         shows_via="update_mini_batch", needs="a mini-batch of m >= 2"),
    _net(_M + "update_mean_twice.py:Network",
         bug="update divides by m twice", signature="factor_1_over_m",
         shows_via="update_mini_batch", needs="a mini-batch of m >= 2"),
    _net(_M + "only_width_one_bug.py:Network",
         bug="output error loses sigma' when the output width is 1", signature="sigma_prime_missing",
         shows_via="backprop", needs="output layer of width 1"),
    _net(_M + "batch_one_only.py:Network",
         bug="update uses only the first example of the mini-batch", signature=None,
         shows_via="update_mini_batch", needs="a mini-batch of m >= 2"),
    _net(_M + "tiny_single_entry.py:Network",
         bug="nabla_w[0][0, 0] off by a relative 1e-4", signature=None, shows_via="backprop",
         needs="a tolerance tighter than 1e-4 relative"),
    _net(_M + "mutates_input.py:Network",
         bug="backprop adds 1 to the caller's x[0, 0]", signature="mutated_inputs",
         shows_via="mutation"),
    _net(_M + "mutates_weights.py:Network",
         bug="backprop rescales self.weights[0] in place", signature="mutated_weights",
         shows_via="mutation"),
    _net(_M + "deep_only.py:Network",
         bug="first hidden layer loses sigma' when num_layers >= 4", signature="sigma_prime_missing",
         shows_via="backprop", needs="len(sizes) >= 4"),
    _layer(_M + "softmax_elementwise.py:SoftmaxShortcut", "softmax",
           bug="softmax backward is dout * s * (1 - s) (diagonal only)",
           needs="n >= 2 units (width 1 softmax is constant)"),
    _layer(_M + "batchnorm_missing_mean_terms.py:BatchNormLayer", None,
           bug="batch-norm backward is dout * inv_std", layer_size=4, needs="a batch of m >= 2"),
    _layer(_M + "batchnorm_missing_var_term.py:BatchNormLayer", None,
           bug="batch-norm backward drops the variance term", layer_size=4, needs="a batch of m >= 2"),
    _layer(_M + "relu_wrong_side.py:ReLULayerZero", "relu", bug="ReLU backward uses x < 0"),
    _layer(_M + "sigmoid_layer_uses_x.py:SigmoidLayer", "sigmoid",
           bug="sigmoid backward takes sigma' at the output", signature="sigma_prime_at_a"),
    _function(_M + "functional_sum_not_mean.py:grad", bug="data gradient summed, not averaged",
              signature="factor_m", needs="a batch of m >= 2"),
    _function(_M + "functional_softmax_hadamard.py:grad",
              bug="softmax backward is the Hadamard g * s * (1 - s)",
              needs="softmax not paired with log-likelihood at the output, or softmax hidden"),
]


def load(entry):
    """The object an entry's target names, imported from its file."""
    path, name = entry["target"].split(":")
    module_name = "zoo_" + path.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(module_name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)
