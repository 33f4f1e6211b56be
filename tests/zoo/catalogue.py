"""The zoo's index: every correct implementation and every mutant, as plain data.

Each entry is a dict:

* ``target``    -- ``path/to/file.py:Name`` relative to the repository root (the
                   file is imported under its dotted package name, as pytest
                   does: tests/ has no ``__init__.py``, so tests/zoo/x/y.py is
                   ``zoo.x.y``); for a function pair, Name is the pair's prefix
                   (``affine`` for affine_forward / affine_backward) or its
                   forward function (``conv_forward_naive``, whose partner is
                   conv_backward_naive);
* ``style``     -- ``network`` (network.py / network2.py objects or a one-argument
                   factory), ``layer``, ``pair`` (forward/backward functions),
                   ``model`` (``loss(X, y) -> (loss, grads)``), ``step`` (code that
                   applies its own gradient), ``function`` (``grad(arch, ...)``) or
                   ``engine`` (an autodiff engine's value class, micrograd's Value);
* ``options``   -- keyword options of ``gradcert.check``, only those a user would
                   have to declare: cost, activation, hidden_activation,
                   output_activation, depth, sizes, batch, examples, seed,
                   oracles, mode, timeout, l2, batch_norm, layout ("rows" |
                   "columns"), shape ("N,C,H,W": letters drawn, digits fixed),
                   inputs ("x=N,D w=D,M b=M"), init (constructor keyword
                   arguments), kwargs (keyword arguments of every forward/loss
                   call), params ("W:dW,b:db"), lr (a step's learning rate),
                   style;
* ``bug``       -- one line; ``None`` for the correct ones;
* ``signature`` -- the diagnosis gradcert should give, or ``None`` where no named
                   diagnosis fits.  Networks and functions: sigma_prime_missing,
                   sigma_prime_extra, sigma_prime_at_a, transposed, sign_flipped,
                   factor_m, factor_1_over_m, layer_zero, bp2_untransposed,
                   mutated_inputs, mutated_weights.  Layers, pairs and models:
                   elementwise_jacobian, mean_terms_missing, transposed,
                   gradient_missing, factor_m, factor_1_over_m, sign_flipped,
                   mask_not_applied, stale_cache, repeated_index_assigned;
* ``shows_via`` -- what exposes the bug: ``backprop`` (a gradient gradcert reads:
                   backprop, backward, a pair's backward, a model's grads, a
                   function's return), ``update_mini_batch`` (the SGD step of a
                   network that also has backprop), ``step`` (the parameters'
                   change in step-only code), ``mutation`` (inputs changed),
                   ``forward`` (an engine's values themselves);
                   ``None`` for the correct ones;
* ``needs``     -- the case the bug needs in order to show, ``None`` if any
                   generic case shows it;
* ``source``    -- the public code whose conventions the entry follows.

REFUSED lists targets gradcert must refuse to certify, with the exit code and
the words its one-line message must contain.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository root
_C, _M, _S = "tests/zoo/correct/", "tests/zoo/mutants/", "tests/zoo/styles/"

NIELSEN = "Nielsen, mnielsen/neural-networks-and-deep-learning src/network.py"
NIELSEN2 = "Nielsen, mnielsen/neural-networks-and-deep-learning src/network2.py"
ZOO = "gradcert's zoo (network.py's interface, the book's equations)"
CS231N = "Stanford cs231n assignment 2, cs231n/layers.py conventions"
DLAI = "deeplearning.ai's course assignments: relu(Z) -> (A, cache), relu_backward(dA, cache), columns"
NNFS = "Neural Networks from Scratch (nnfs): forward stores self.output, backward self.dinputs"
MLFS = "ML-From-Scratch (eriklindernoren), mlfromscratch/deep_learning/layers.py conventions"
CS231N_RNN = "Stanford cs231n assignment 3, cs231n/rnn_layers.py conventions (word_embedding_forward(x, W))"
CS231N_CLASSIFIERS = "Stanford cs231n assignment 1, cs231n/classifiers/linear_svm.py and softmax.py conventions"
CS231N_MODELS = "Stanford cs231n assignment 2, cs231n/classifiers/fc_net.py conventions"
DLFS_MODELS = "Saito, Deep Learning from Scratch, ch05/two_layer_net.py and common/multi_layer_net.py conventions"
DLFS = "Saito, Deep Learning from Scratch (oreilly-japan/deep-learning-from-scratch), common/layers.py"
COLUMNS = "The Independent Code, neural network from scratch (Dense/Activation, column-major)"
FORWARD_PASS = "course numpy frameworks: forward_pass/backward_pass with params/grads dicts"
KERAS = "Keras Layer conventions (build on first call, kernel/bias), in numpy"
YANDEX = "Yandex SDA Practical_DL numpy seminar: backward(input, grad_output)"
TORCH_NAMES = "torch.nn BatchNorm1d/LayerNorm names, in numpy"
CS189 = "UC Berkeley CS189/289A neural-network homework and numpy-ml: parameters/gradients dicts, lazy"
CONV = "numpy CNN-from-scratch conventions: direct and im2col/col2im convolution, (N, C, H, W)"
STOCHASTIC = "dropout/noise layers holding their own np.random.Generator, RandomState or random.Random"
ADJOINT = "reverse-mode AD adjoint ('bar') notation, e.g. Giles, matrix derivative results"
MICROGRAD = "karpathy/micrograd's engine.py (Value: data, grad, _backward closures, topological backward())"
PORTS = ("public ports of network.py: methods renamed, W stored (n_in, n_out), update_mini_batch(mini_batch, eta, n), "
         "ws/bs and (grad_w, grad_b)")
ROWS = ("hao-wang/bfalgo's network.py port in TensorFlow's shapes: examples as rows, W (n_in, n_out), b (1, n), "
        "(nabla_w, nabla_b) unpacked so by its own SGD(X, y, test_X, test_y)")
COURSERA = "Coursera machine learning (Ng), the exercises' Python ports: ex2 costFunction, ex3 lrCostFunction, ex4 nnCostFunction, ex5"
TENSOR_ENGINE = "autograd-from-scratch tutorials in torch's habits (Tensor(data, requires_grad), grad None)"


def entry(target, style, options=None, bug=None, signature=None, shows_via=None, needs=None,
          source=ZOO):
    if bug is not None and shows_via is None:
        shows_via = "step" if style == "step" else "backprop"
    return {"target": target, "style": style, "options": dict(options or {}), "bug": bug,
            "signature": signature, "shows_via": shows_via, "needs": needs, "source": source}


def _net(target, bug=None, signature=None, shows_via="backprop", needs=None, source=ZOO, **options):
    return entry(target, "network", options, bug, signature, shows_via if bug else None, needs, source)


def _dense(n_in, n_out, k_in, k_out, rows=True):
    """init and shape for a dense layer built as Name(k_in=n_in, k_out=n_out)."""
    shape = f"N,{n_in}" if rows else f"{n_in},N"
    options = {"init": {k_in: n_in, k_out: n_out}, "shape": shape}
    if not rows:
        options["layout"] = "columns"
    return options


_L = _C + "layers_correct.py:"
_CS = _S + "cs231n_layers.py:"
_CSB = _M + "cs231n_layers_buggy.py:"
_BN_PARAM = {"bn_param": {"mode": "train"}}
_EMBEDDING = {"inputs": "x=N,T:int<V W=V,D"}  # x: word indices below V, no gradient of its own
_CONV = {"inputs": "x=N,C,H,W w=F,C,3,3 b=F", "kwargs": {"conv_param": {"stride": 1, "pad": 1}}}
_POOL = {"inputs": "x=N,C,H,W", "kwargs": {"pool_param": {"pool_height": 2, "pool_width": 2, "stride": 2}}}
_DROPOUT = {"inputs": "x=N,D", "kwargs": {"dropout_param": {"p": 0.6, "mode": "train"}}}
_TWO_LAYER = {"init": {"input_dim": 5, "hidden_dim": 4, "num_classes": 3}, "shape": "N,5"}
_FC = {"hidden_dims": [4, 3], "input_dim": 5, "num_classes": 3, "dtype": "float64"}
_CONV2D = {"init": {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": 1}, "shape": "N,2,H,W"}

CORRECT = [
    # -- 1. network.py / network2.py objects ------------------------------------------------
    _net(_C + "nielsen_network.py:Network", source=NIELSEN),
    _net(_C + "nielsen_network2.py:Network", cost="cross-entropy", source=NIELSEN2),  # its default cost
    _net(_C + "network2_factories.py:Net2Quadratic", source=NIELSEN2 + ", a one-argument factory"),
    _net(_C + "network2_factories.py:Net2CrossEntropy", cost="cross-entropy",
         source=NIELSEN2 + ", functools.partial(Network, cost=CrossEntropyCost)"),
    _net(_C + "network2_factories.py:Net2QuadraticLambda", source=NIELSEN2 + ", a lambda factory"),
    _net(_C + "matrix_form.py:Network"),
    _net(_C + "einsum_form.py:Network"),
    _net(_C + "loops_form.py:Network"),
    _net(_C + "cross_entropy_net.py:Network", cost="cross-entropy"),
    _net(_S + "nielsen_ports.py:Renamed", source=PORTS),  # backpropagation(x, y), update_network
    _net(_S + "nielsen_ports.py:TransposedWeights", source=PORTS),  # W (n_in, n_out), flat biases
    _net(_S + "nielsen_ports.py:SizedStep", source=PORTS),  # update_mini_batch(mini_batch, eta, n)
    _net(_S + "nielsen_ports.py:OwnConventions", source=PORTS),  # ws/bs, (grad_w, grad_b), gradientDescent
    _net(_S + "nielsen_rows.py:Network", source=ROWS),  # rows: x (1, n_in), W (n_in, n_out), b (1, n)

    # -- 2./3. layer objects -----------------------------------------------------------------
    entry(_L + "SigmoidLayer", "layer"),
    entry(_L + "TanhLayer", "layer"),
    entry(_L + "ReLULayerZero", "layer"),
    entry(_L + "ReLULayerOne", "layer"),  # subgradient 1 at 0: differs from torch only at x == 0
    entry(_L + "SoftmaxJacobian", "layer", {"layout": "columns"}),
    entry(_L + "SoftmaxShortcut", "layer", {"layout": "columns"}),
    entry(_L + "BatchNormLayer", "layer", {"init": {"n": 4}, "shape": "4,N", "layout": "columns"}),
    # Deep Learning from Scratch: forward/backward, cache attributes, W/dW, train_flg=True
    entry(_S + "dlfs_layers.py:Relu", "layer", source=DLFS),
    entry(_S + "dlfs_layers.py:Sigmoid", "layer", source=DLFS),
    entry(_S + "dlfs_layers.py:Affine", "layer", _dense(4, 3, "input_size", "output_size"), source=DLFS),
    entry(_S + "dlfs_layers.py:Affine", "layer",  # rank-4 input, flattened as the book does
          {"init": {"input_size": 12, "output_size": 2}, "shape": "N,3,2,2"}, source=DLFS),
    entry(_S + "dlfs_layers.py:Dropout", "layer", source=DLFS),  # np.random.rand mask
    entry(_S + "dlfs_layers.py:BatchNormalization", "layer",
          {"init": {"input_size": 3}, "shape": "N,3"}, source=DLFS),
    # ... and as the book builds them: around parameter arrays (drawn), and its loss layer forward(x, t)
    entry(_S + "dlfs_book_layers.py:Affine", "layer", source=DLFS),
    entry(_S + "dlfs_book_layers.py:BatchNormalization", "layer", source=DLFS),
    entry(_S + "dlfs_book_layers.py:SoftmaxWithLoss", "layer", source=DLFS),  # labels drawn, -log(y + 1e-7)
    # column-major (features, examples); grad_weights/grad_bias
    entry(_S + "column_layers.py:Dense", "layer", _dense(4, 2, "input_size", "output_size", rows=False),
          source=COLUMNS),
    entry(_S + "column_layers.py:Tanh", "layer", source=COLUMNS),
    entry(_S + "column_layers.py:Sigmoid", "layer", source=COLUMNS),
    entry(_S + "column_layers.py:Softmax", "layer", {"layout": "columns"}, source=COLUMNS),
    # forward_pass/backward_pass, params/grads dicts (grads keyed "W" and keyed "dW")
    entry(_S + "forward_pass_layers.py:Linear", "layer", _dense(3, 5, "n_in", "n_out"), source=FORWARD_PASS),
    entry(_S + "forward_pass_layers.py:Affine", "layer", _dense(4, 2, "n_in", "n_out"), source=FORWARD_PASS),
    entry(_S + "forward_pass_layers.py:ReLU", "layer", source=FORWARD_PASS),
    entry(_S + "forward_pass_layers.py:LeakyReLU", "layer", source=FORWARD_PASS),
    entry(_S + "forward_pass_layers.py:Tanh", "layer", source=FORWARD_PASS),
    # __call__ + backward, Keras-like lazy build
    entry(_S + "callable_layers.py:Dense", "layer", {"init": {"units": 3}}, source=KERAS),
    entry(_S + "callable_layers.py:Tanh", "layer", source=KERAS),
    entry(_S + "callable_layers.py:LeakyReLU", "layer", source=KERAS),
    # stateless backward(input, grad_output) and backward(dout, x)
    entry(_S + "stateless_layers.py:ReLU", "layer", source=YANDEX),
    entry(_S + "stateless_layers.py:Sigmoid", "layer", source=YANDEX),
    entry(_S + "stateless_layers.py:SoftmaxRows", "layer", source=YANDEX),
    entry(_S + "stateless_layers.py:TanhDoutFirst", "layer", source=YANDEX + ", upstream gradient first"),
    entry(_S + "stateless_layers.py:LeakyReLUDoutFirst", "layer", source=YANDEX + ", upstream gradient first"),
    # normalisation (train mode), softmax
    entry(_S + "norm_layers.py:BatchNorm1d", "layer", {"init": {"num_features": 3}, "shape": "N,3"},
          source=TORCH_NAMES),
    entry(_S + "norm_layers.py:LayerNorm", "layer", {"init": {"normalized_shape": 4}, "shape": "N,4"},
          source=TORCH_NAMES),
    entry(_S + "norm_layers.py:LayerNorm", "layer", {"init": {"normalized_shape": 3}, "shape": "N,T,3"},
          source=TORCH_NAMES + ", rank-3 input"),
    entry(_S + "nnfs_layers.py:Layer_Dense", "layer", source=NNFS),  # forward/backward return nothing
    entry(_S + "nnfs_layers.py:Activation_ReLU", "layer", source=NNFS),
    entry(_S + "nnfs_layers.py:Activation_Softmax", "layer", source=NNFS),
    entry(_S + "nnfs_layers.py:Layer_Dropout", "layer", {"init": {"rate": 0.3}}, source=NNFS),
    entry(_S + "nnfs_losses.py:Loss_CategoricalCrossentropy", "layer", source=NNFS),  # the mean's gradient
    entry(_S + "nnfs_losses.py:Loss_BinaryCrossentropy", "layer", source=NNFS),
    entry(_S + "nnfs_losses.py:Activation_Softmax_Loss_CategoricalCrossentropy", "layer", source=NNFS),
    entry(_S + "softmax_layers.py:SoftmaxJacobian", "layer"),
    entry(_S + "softmax_layers.py:SoftmaxShortcut", "layer"),
    # randomness from generators the layer holds
    entry(_S + "stochastic_layers.py:Dropout", "layer", source=STOCHASTIC),
    entry(_S + "stochastic_layers.py:LegacyDropout", "layer", source=STOCHASTIC),
    entry(_S + "stochastic_layers.py:GaussianNoise", "layer", source=STOCHASTIC),
    entry(_S + "stochastic_layers.py:NoisyScale", "layer", source=STOCHASTIC),
    # rank-4 inputs
    entry(_S + "conv_layers.py:Conv2D", "layer", _CONV2D, source=CONV),
    entry(_S + "conv_layers.py:Conv2DIm2col", "layer",
          {"init": {"in_channels": 2, "out_channels": 2, "kernel_size": 2, "stride": 2, "padding": 1},
           "shape": "N,2,H,W"}, source=CONV),
    entry(_S + "conv_layers.py:MaxPool2D", "layer", {"init": {"pool_size": 2}, "shape": "N,C,4,6"}, source=CONV),
    # parameters kept lazily in parameters/gradients dicts, privately, or under names to be told
    entry(_S + "lazy_layers.py:FullyConnected", "layer", {"init": {"n_out": 3, "activation": "relu"}},
          source=CS189),
    entry(_S + "lazy_layers.py:FullyConnected", "layer", {"init": {"n_out": 2, "activation": "tanh"}},
          source=CS189),
    entry(_S + "param_conventions.py:PrivateDense", "layer", _dense(3, 2, "n_in", "n_out")),
    entry(_S + "param_conventions.py:KernelDense", "layer",
          {**_dense(3, 4, "in_features", "out_features"), "params": "kernel:kernel_grad,bias:bias_grad"},
          source=KERAS + ", gradients under names gradcert cannot guess"),
    entry(_S + "param_conventions.py:AdjointAffine", "layer",
          {**_dense(3, 2, "n_in", "n_out", rows=False), "params": "A:A_bar,c:c_bar"}, source=ADJOINT),

    # -- 4. cs231n function pairs --------------------------------------------------------------
    entry(_CS + "affine", "pair", {"inputs": "x=N,D w=D,M b=M"}, source=CS231N),
    entry(_S + "dlai_functions.py:relu", "pair", {"inputs": "Z=D,N"}, source=DLAI),
    entry(_S + "dlai_functions.py:sigmoid", "pair", {"inputs": "Z=D,N"}, source=DLAI),
    entry(_S + "dlai_functions.py:linear_sum", "pair", {"inputs": "A=D,N W=M,D b=M,1"}, source=DLAI),
    entry(_CS + "affine", "pair", {"inputs": "x=N,2,3,2 w=12,M b=M"}, source=CS231N + ", x of rank 4"),
    entry(_CS + "relu", "pair", {"inputs": "x=N,D"}, source=CS231N),
    entry(_CS + "sigmoid", "pair", {"inputs": "x=N,D"}, source=CS231N),
    entry(_CS + "batchnorm", "pair", {"inputs": "x=N,D gamma=D beta=D", "kwargs": _BN_PARAM}, source=CS231N),
    entry(_CS + "layernorm", "pair", {"inputs": "x=N,D gamma=D beta=D", "kwargs": {"ln_param": {}}},
          source=CS231N),
    entry(_CS + "dropout", "pair", _DROPOUT, source=CS231N + ", mask from the global np.random"),
    entry(_CS + "dropout", "pair", {"inputs": "x=N,D", "kwargs": {"dropout_param": {
        "p": 0.5, "mode": "train", "seed": 123}}}, source=CS231N + ", seeded mask"),
    entry(_CS + "conv_forward_naive", "pair", _CONV, source=CS231N),
    entry(_CS + "max_pool_forward_naive", "pair", _POOL, source=CS231N),
    entry(_S + "cs231n_rnn_layers.py:word_embedding", "pair", _EMBEDDING, source=CS231N_RNN),  # x integers
    # cs231n's loss functions, (loss, grad) in one: assignment 1's classifiers and layers.py's losses
    *(entry(_S + f"cs231n_classifiers.py:{f}", "pair", source=CS231N_CLASSIFIERS)
      for f in ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized",
                "svm_loss")),
    entry(_CS + "softmax_loss", "pair", source=CS231N),

    # -- 5. models with a loss method ----------------------------------------------------------
    entry(_S + "cs231n_models.py:TwoLayerNet", "model", _TWO_LAYER, source=CS231N_MODELS),
    entry(_S + "cs231n_models.py:TwoLayerNet", "model",
          {**_TWO_LAYER, "init": {**_TWO_LAYER["init"], "reg": 0.1}}, source=CS231N_MODELS),
    entry(_S + "cs231n_models.py:FullyConnectedNet", "model", {"init": {**_FC, "reg": 0.05}, "shape": "N,5"},
          source=CS231N_MODELS),
    entry(_S + "cs231n_models.py:FullyConnectedNet", "model",
          {"init": {**_FC, "normalization": "batchnorm"}, "shape": "N,5"}, source=CS231N_MODELS),
    entry(_S + "cs231n_models.py:FullyConnectedNet", "model",  # float32, the assignment's default dtype
          {"init": {"hidden_dims": [4], "input_dim": 5, "num_classes": 3}, "shape": "N,5"},
          source=CS231N_MODELS + ", float32"),
    # Deep Learning from Scratch's networks: loss(x, t) and gradient(x, t), sizes drawn, the loss's
    # 1e-7 guard inside its log found and taken out (oracles/guards.py)
    entry(_S + "dlfs_models.py:TwoLayerNet", "model", source=DLFS_MODELS),
    entry(_S + "dlfs_models.py:MultiLayerNet", "model", {"init": {"activation": "sigmoid"}}, source=DLFS_MODELS),
    entry(_S + "dlfs_models.py:MultiLayerNet", "model", {"init": {"weight_decay_lambda": 0.1}},
          source=DLFS_MODELS + ", weight decay"),
    # deeplearning.ai's whole network as functions: L_model_forward(X, parameters), L_model_backward(AL, Y, caches)
    entry(_S + "dlai_model.py:L_model", "model", source=DLAI),

    # -- 6. step-only code ---------------------------------------------------------------------
    entry(_S + "step_layers.py:Dense", "step", _dense(3, 2, "input_size", "output_size", rows=False),
          source=COLUMNS + ", backward(output_gradient, learning_rate)"),
    entry(_S + "step_layers.py:Tanh", "step", source=COLUMNS + ", backward(output_gradient, learning_rate)"),
    entry(_S + "step_layers.py:DenseSGD", "step",
          {"init": {"input_units": 3, "output_units": 2, "learning_rate": 0.05}, "shape": "N,3", "lr": 0.05},
          source=YANDEX + ", a Dense constructed with its learning rate"),
    entry(_S + "step_layers.py:StepOnlyNetwork", "step", source=NIELSEN + ", update_mini_batch only"),
    entry(_S + "mlfs_layers.py:Dense", "step", source=MLFS),  # set_input_shape, initialize(optimizer)
    entry(_S + "mlfs_layers.py:Activation", "layer", {"init": {"name": "tanh"}}, source=MLFS),

    # -- 7. function targets -------------------------------------------------------------------
    entry(_C + "functional_grad.py:grad", "function"),  # NotImplementedError for batch norm
    entry(_S + "tanh_softmax_grad.py:grad", "function",
          {"hidden_activation": "tanh", "output_activation": "softmax"}),
    entry(_S + "batchnorm_grad.py:grad", "function", {"batch_norm": True}),
    entry(_S + "batchnorm_grad.py:grad", "function", {"sizes": [3, 4, 4, 2], "batch_norm": [True, True, False]}),

    # -- cost functions over an unrolled parameter vector -------------------------------------------
    entry(_S + "coursera_costs.py:nnCostFunction", "pair", source=COURSERA),
    entry(_S + "coursera_costs.py:nnCostFunctionOneBased", "pair", source=COURSERA + ", classes from 1"),
    entry(_S + "coursera_costs.py:costFunction", "pair", source=COURSERA),
    entry(_S + "coursera_costs.py:lrCostFunction", "pair", source=COURSERA),
    entry(_S + "coursera_costs.py:linearRegCostFunction", "pair", source=COURSERA),

    # -- an autodiff engine's value class ---------------------------------------------------------
    entry(_S + "scalar_engine.py:Value", "engine", source=MICROGRAD),
    entry(_S + "scalar_engine.py:Float32Value", "engine", source=MICROGRAD + ", float32 numbers"),
    entry(_S + "tensor_engine.py:Tensor", "engine", source=TENSOR_ENGINE),
    entry(_S + "tensor_engine.py:ArrayOnlyTensor", "engine", source=TENSOR_ENGINE + ", arrays only"),
    entry(_S + "tensor_engine.py:GradTensor", "engine", source=TENSOR_ENGINE + ", grads are Tensors (x.grad.data)"),
]

MUTANTS = [
    # -- 1. networks -----------------------------------------------------------------------------
    _net(_M + "sigma_prime_dropped.py:Network",
         bug="output error omits sigma'(z^L)", signature="sigma_prime_missing"),
    _net(_M + "sigma_prime_doubled.py:Network",
         bug="BP2 multiplies by sigma'(z) twice in hidden layers", signature="sigma_prime_extra",
         needs="a hidden layer (len(sizes) >= 3)"),
    _net(_M + "sigma_prime_at_a.py:Network",
         bug="sigma' evaluated at a instead of z", signature="sigma_prime_at_a"),
    _net(_M + "missing_transpose_bp2.py:Network",
         bug="BP2 uses w instead of w.T when w is square", signature="bp2_untransposed",
         needs="two consecutive equal hidden widths, e.g. [3, 4, 4, 2]"),
    _net(_M + "transposed_nabla_w.py:Network",
         bug="nabla_w returned transposed for square weight matrices", signature="transposed",
         needs="a square weight matrix (n_out == n_in)"),
    _net(_M + "off_by_one_layer.py:Network",
         bug="hidden loop stops one layer early: first layer's gradient stays zero",
         signature="layer_zero", needs="a hidden layer (len(sizes) >= 3)"),
    _net(_M + "wrong_cost_derivative.py:Network",
         bug="cost_derivative returns y - a", signature="sign_flipped"),
    _net(_M + "cross_entropy_with_sigma_prime.py:Network", cost="cross-entropy",
         bug="cross-entropy output error keeps sigma'(z^L)", signature="sigma_prime_extra"),
    _net(_M + "quadratic_missing_sigma_prime.py:Network",
         bug="QuadraticCost.delta is a - y (network2 style)", signature="sigma_prime_missing"),
    _net(_M + "sign_error_bias.py:Network",
         bug="hidden layers' nabla_b = -delta", signature="sign_flipped",
         needs="a hidden layer (len(sizes) >= 3)"),
    _net(_M + "bias_grad_not_delta.py:Network",
         bug="nabla_b = delta * a^l instead of delta", signature=None),
    _net(_M + "update_sum_not_mean.py:Network",
         bug="update uses eta * sum instead of (eta/m) * sum", signature="factor_m",
         shows_via="update_mini_batch", needs="a mini-batch of m >= 2"),
    _net(_M + "update_mean_twice.py:Network",
         bug="update divides by m twice", signature="factor_1_over_m",
         shows_via="update_mini_batch", needs="a mini-batch of m >= 2"),
    _net(_M + "only_width_one_bug.py:Network",
         bug="output error loses sigma' when the output width is 1", signature="sigma_prime_missing",
         needs="output layer of width 1"),
    _net(_M + "batch_one_only.py:Network",
         bug="update uses only the first example of the mini-batch", signature=None,
         shows_via="update_mini_batch", needs="a mini-batch of m >= 2"),
    _net(_M + "tiny_single_entry.py:Network",
         bug="nabla_w[0][0, 0] off by a relative 1e-4", signature=None,
         needs="a tolerance tighter than 1e-4 relative"),
    _net(_M + "tiny_1e9_entry.py:Network",
         bug="nabla_w[0][0, 0] off by a relative 1e-9 (network.py otherwise unchanged)", signature=None,
         needs="an oracle accurate to ~1e-12 relative; caught in every mode", source=NIELSEN),
    _net(_M + "mutates_input.py:Network",
         bug="backprop adds 1 to the caller's x[0, 0]", signature="mutated_inputs", shows_via="mutation"),
    _net(_M + "mutates_weights.py:Network",
         bug="backprop rescales self.weights[0] in place", signature="mutated_weights", shows_via="mutation"),
    _net(_M + "deep_only.py:Network",
         bug="first hidden layer loses sigma' when num_layers >= 4", signature="sigma_prime_missing",
         needs="len(sizes) >= 4"),
    _net(_M + "nielsen_ports_buggy.py:RenamedBP4OffByOne", bug="BP4 takes the layer's own output for its input",
         needs="a hidden layer (len(sizes) >= 3)", source=PORTS),
    _net(_M + "nielsen_ports_buggy.py:TransposedBiasSign", bug="hidden biases' gradient has its sign flipped",
         signature="sign_flipped", needs="a hidden layer (len(sizes) >= 3)", source=PORTS),
    # no diagnosis: the minimal case, [1, 1], cannot tell (grad_w, grad_b) from (nabla_b, nabla_w) by shape
    _net(_M + "nielsen_ports_buggy.py:OwnConventionsOutputSigmaPrimeMissing", bug="BP1 without sigma'(z^L)",
         source=PORTS),
    _net(_M + "nielsen_rows_buggy.py:HiddenDaDzMissing", bug="BP2 without da_dz(a^l), sigma'(z^l)",
         signature="sigma_prime_missing", needs="a hidden layer (len(sizes) >= 3)", source=ROWS),
    _net(_M + "nielsen_ports_buggy.py:SizedStepDropsWeights", bug="the step sets w to 1 - (eta/m) nabla_w",
         shows_via="update_mini_batch", needs="a mini-batch of m >= 2", source=PORTS),
    _net(_M + "network2_steps.py:DecaysBiases", cost="cross-entropy",
         bug="the L2 step decays the biases too", shows_via="update_mini_batch",
         needs="update_mini_batch called with lmbda > 0", source=NIELSEN2),
    _net(_M + "network2_steps.py:DecayWithoutN", cost="cross-entropy",
         bug="weight decay (1 - eta * lmbda) instead of (1 - eta * lmbda / n)", shows_via="update_mini_batch",
         needs="lmbda > 0 and n != 1", source=NIELSEN2),
    _net(_M + "network2_steps.py:StepOverN", cost="cross-entropy",
         bug="the step is (eta / n) * sum instead of (eta / m) * sum", shows_via="update_mini_batch",
         needs="n != len(mini_batch)", source=NIELSEN2),

    # -- 2./3. layers ----------------------------------------------------------------------------
    entry(_M + "nnfs_buggy.py:DenseBiasMean", "layer", bug="dbiases is a mean over the batch",
          signature="factor_1_over_m", needs="a batch of N >= 2", source=NNFS),
    entry(_M + "nnfs_buggy.py:CrossentropyNotAveraged", "layer",
          bug="the loss's dinputs is the gradient of the sum of its losses, not of their mean (no / samples)",
          signature="factor_m", needs="N >= 2", source=NNFS),
    entry(_M + "nnfs_buggy.py:SoftmaxCrossentropyNotAveraged", "layer",
          bug="the softmax classifier's dinputs lacks its / samples", signature="factor_m", needs="N >= 2",
          source=NNFS),
    entry(_M + "nnfs_buggy.py:ReluMaskIgnored", "layer", bug="ReLU's dinputs ignores the mask",
          signature="mask_not_applied", source=NNFS),
    entry(_M + "nnfs_buggy.py:SoftmaxDiagonalOnly", "layer", bug="softmax's dinputs is the Jacobian's diagonal",
          signature="elementwise_jacobian", needs="two units or more", source=NNFS),
    entry(_M + "softmax_elementwise.py:SoftmaxShortcut", "layer", {"layout": "columns"},
          bug="softmax backward is dout * s * (1 - s) (diagonal only)", signature="elementwise_jacobian",
          needs="n >= 2 units (width 1 softmax is constant)"),
    entry(_M + "batchnorm_missing_mean_terms.py:BatchNormLayer", "layer",
          {"init": {"n": 4}, "shape": "4,N", "layout": "columns"},
          bug="batch-norm backward is dout * inv_std", signature="mean_terms_missing", needs="a batch of m >= 2"),
    entry(_M + "batchnorm_missing_var_term.py:BatchNormLayer", "layer",
          {"init": {"n": 4}, "shape": "4,N", "layout": "columns"},
          bug="batch-norm backward drops the variance term", needs="a batch of m >= 2"),
    entry(_M + "relu_wrong_side.py:ReLULayerZero", "layer", bug="ReLU backward uses x < 0"),
    entry(_M + "sigmoid_layer_uses_x.py:SigmoidLayer", "layer",
          bug="sigmoid backward takes sigma' at the output"),
    entry(_M + "dlfs_buggy.py:ReluMaskIgnored", "layer", bug="Relu backward never applies its mask",
          signature="mask_not_applied", source=DLFS),
    entry(_M + "dlfs_buggy.py:DropoutMaskIgnored", "layer", bug="Dropout backward returns dout unmasked",
          signature="mask_not_applied", source=DLFS),
    entry(_M + "dlfs_buggy.py:AffineTransposedDW", "layer", _dense(3, 3, "input_size", "output_size"),
          bug="dW = dout.T @ x, the transpose, for a square W", signature="transposed",
          needs="a square W (input_size == output_size)", source=DLFS),
    entry(_M + "dlfs_buggy.py:AffineDbMissing", "layer", _dense(4, 3, "input_size", "output_size"),
          bug="db is never computed (stays zero)", signature="gradient_missing", source=DLFS),
    entry(_M + "dlfs_book_buggy.py:AffineDWAveraged", "layer", bug="dW = x.T @ dout / N, the batch's mean",
          signature="factor_1_over_m", needs="N >= 2", source=DLFS),
    entry(_M + "dlfs_book_buggy.py:BatchNormDGammaSignFlipped", "layer", bug="dgamma has the wrong sign",
          signature="sign_flipped", source=DLFS),
    entry(_M + "dlfs_book_buggy.py:AffineFirstBatchCached", "layer",
          bug="forward caches only the first batch it sees: backward reads that one, not the last",
          signature="stale_cache", source=DLFS),
    entry(_M + "dlfs_book_buggy.py:SoftmaxWithLossNotAveraged", "layer",
          bug="SoftmaxWithLoss backward returns y - t, not (y - t) / N", signature="factor_m",
          needs="N >= 2", source=DLFS),
    entry(_M + "column_buggy.py:DenseWeightGradSignFlipped", "layer",
          _dense(4, 2, "input_size", "output_size", rows=False),
          bug="grad_weights has its sign flipped", signature="sign_flipped", source=COLUMNS),
    entry(_M + "column_buggy.py:SoftmaxElementwise", "layer", {"layout": "columns"},
          bug="softmax backward takes the Jacobian's diagonal only", signature="elementwise_jacobian",
          source=COLUMNS),
    entry(_M + "forward_pass_buggy.py:LinearGradsAveraged", "layer", _dense(3, 2, "n_in", "n_out"),
          bug="grads averaged over the batch inside the layer", signature="factor_1_over_m",
          needs="a batch of N >= 2", source=FORWARD_PASS),
    entry(_M + "forward_pass_buggy.py:LeakyReLUSlopeDropped", "layer",
          bug="LeakyReLU backward uses slope 0 on the negative side", needs="a negative input",
          source=FORWARD_PASS),
    entry(_M + "callable_buggy.py:DenseBiasGradMissing", "layer", {"init": {"units": 3}},
          bug="lazy Dense never computes dbias (zeros from build)", signature="gradient_missing", source=KERAS),
    entry(_M + "callable_buggy.py:TanhSignFlipped", "layer", bug="Tanh backward has its sign flipped",
          signature="sign_flipped", source=KERAS),
    entry(_M + "stateless_buggy.py:ReLUMaskFromGradient", "layer",
          bug="ReLU's mask taken from grad_output instead of the input", source=YANDEX),
    entry(_M + "stateless_buggy.py:TanhDoutFirstPrimeAtInput", "layer",
          bug="backward(dout, x) uses 1 - x^2, tanh' at the wrong point", source=YANDEX),
    entry(_M + "stateless_buggy.py:SoftmaxRowsElementwise", "layer",
          bug="stateless softmax backward takes the Jacobian's diagonal only", signature="elementwise_jacobian",
          source=YANDEX),
    entry(_M + "norm_buggy.py:BatchNorm1dNoMeanTerms", "layer", {"init": {"num_features": 3}, "shape": "N,3"},
          bug="batch-norm dx = grad_out * weight * inv_std", signature="mean_terms_missing",
          needs="a batch of N >= 2", source=TORCH_NAMES),
    entry(_M + "norm_buggy.py:LayerNormNoMeanTerms", "layer", {"init": {"normalized_shape": 4}, "shape": "N,4"},
          bug="layer-norm dx = dy * gamma * rstd", signature="mean_terms_missing", source=TORCH_NAMES),
    entry(_M + "norm_buggy.py:BatchNorm1dGammaGradAveraged", "layer",
          {"init": {"num_features": 3}, "shape": "N,3"},
          bug="grad_weight averaged over the batch, not summed", signature="factor_1_over_m",
          needs="a batch of N >= 2", source=TORCH_NAMES),
    entry(_M + "softmax_buggy.py:SoftmaxElementwise", "layer",
          bug="row softmax backward takes the Jacobian's diagonal only", signature="elementwise_jacobian"),
    entry(_M + "softmax_buggy.py:SoftmaxWrongAxis", "layer",
          bug="softmax backward's sum runs over the batch axis", needs="a batch of N >= 2"),
    entry(_M + "stochastic_buggy.py:DropoutRedrawsMask", "layer",
          bug="dropout backward draws a fresh mask instead of forward's", source=STOCHASTIC),
    entry(_M + "stochastic_buggy.py:NoisyScaleIgnoresNoise", "layer",
          bug="multiplicative noise layer's backward ignores the drawn scale", signature="mask_not_applied",
          source=STOCHASTIC),
    entry(_M + "conv_buggy.py:Conv2DKernelNotFlipped", "layer", _CONV2D,
          bug="conv dx correlates dout with the kernel unrotated", source=CONV),
    entry(_M + "conv_buggy.py:MaxPool2DMaskIgnored", "layer", {"init": {"pool_size": 2}, "shape": "N,C,4,6"},
          bug="max-pool backward spreads dout over the whole window", signature="mask_not_applied", source=CONV),
    entry(_M + "conv_buggy.py:Conv2DIm2colBiasGradMissing", "layer",
          {"init": {"in_channels": 2, "out_channels": 2, "kernel_size": 2, "stride": 2, "padding": 1},
           "shape": "N,2,H,W"},
          bug="grads['b'] is never set (params has b, grads has no b)", signature="gradient_missing", source=CONV),
    entry(_M + "lazy_buggy.py:FullyConnectedWeightGradSkipsActivation", "layer",
          {"init": {"n_out": 3, "activation": "relu"}},
          bug="lazy layer's dW skips the ReLU mask (dX right; dW wrong by tens of per cent)", source=CS189),
    entry(_M + "lazy_buggy.py:FullyConnectedBiasGradSignFlipped", "layer",
          {"init": {"n_out": 2, "activation": "tanh"}},
          bug="lazy layer's db has its sign flipped", signature="sign_flipped", source=CS189),
    entry(_M + "param_conventions_buggy.py:PrivateDenseBiasGradAveraged", "layer", _dense(3, 2, "n_in", "n_out"),
          bug="_db is the mean over the batch, not the sum", signature="factor_1_over_m", needs="a batch of N >= 2"),
    entry(_M + "param_conventions_buggy.py:KernelDenseTransposedGrad", "layer",
          {**_dense(3, 3, "in_features", "out_features"), "params": "kernel:kernel_grad,bias:bias_grad"},
          bug="kernel_grad transposed, for a square kernel", signature="transposed",
          needs="a square kernel", source=KERAS),
    entry(_M + "param_conventions_buggy.py:AdjointAffineInputGradSignFlipped", "layer",
          {**_dense(3, 2, "n_in", "n_out", rows=False), "params": "A:A_bar,c:c_bar"},
          bug="x_bar has its sign flipped", signature="sign_flipped", source=ADJOINT),

    # -- 4. cs231n pairs -----------------------------------------------------------------------
    entry(_CSB + "affine", "pair", {"inputs": "x=N,D w=D,D b=D"},
          bug="dw = dout.T @ x, the transpose, for a square w", signature="transposed",
          needs="a square w (D == M)", source=CS231N),
    entry(_M + "cs231n_rnn_layers_buggy.py:word_embedding", "pair", _EMBEDDING,
          bug="dW[x] += dout, buffered: a word twice in x gets one row of dout, not their sum",
          signature="repeated_index_assigned", needs="an index repeated in x", source=CS231N_RNN),
    entry(_M + "cs231n_affine_db_mean.py:affine", "pair", {"inputs": "x=N,D w=D,M b=M"},
          bug="db = mean of dout over N, not the sum", signature="factor_1_over_m", needs="N >= 2",
          source=CS231N),
    entry(_S + "dlai_functions.py:linear_activation_forward", "pair",
          {"inputs": "A_prev=D,N W=M,D b=M,1", "kwargs": {"activation": "relu"}},
          bug="dW and db of the batch's mean beside dA_prev of its sum", signature="factor_1_over_m",
          needs="a batch of N >= 2", source=DLAI),
    entry(_CSB + "relu", "pair", {"inputs": "x=N,D"}, bug="relu_backward returns dout unmasked",
          signature="mask_not_applied", source=CS231N),
    entry(_CSB + "batchnorm", "pair", {"inputs": "x=N,D gamma=D beta=D", "kwargs": _BN_PARAM},
          bug="batchnorm_backward dx = dout * gamma * ivar", signature="mean_terms_missing", needs="N >= 2",
          source=CS231N),
    entry(_CSB + "layernorm", "pair", {"inputs": "x=N,D gamma=D beta=D", "kwargs": {"ln_param": {}}},
          bug="dbeta has its sign flipped", signature="sign_flipped", source=CS231N),
    entry(_CSB + "dropout", "pair", _DROPOUT, bug="dropout_backward returns dout unmasked",
          signature="mask_not_applied", source=CS231N),
    entry(_CSB + "conv_forward_naive", "pair", _CONV,
          bug="conv dx correlates dout with the kernel unrotated", source=CS231N),
    entry(_CSB + "max_pool_forward_naive", "pair", _POOL,
          bug="max-pool backward sends dout to every element of the window", signature="mask_not_applied",
          source=CS231N),
    entry(_M + "cs231n_classifiers_buggy.py:svm_loss_naive_reg_halved", "pair",
          bug="dW has reg * W for the loss's reg * sum(W^2)", needs="reg > 0", source=CS231N_CLASSIFIERS),
    entry(_M + "cs231n_classifiers_buggy.py:softmax_loss_vectorized_summed", "pair",
          bug="the data term of dW is not divided by N", signature="factor_m", needs="N >= 2",
          source=CS231N_CLASSIFIERS),

    # -- 5. models ------------------------------------------------------------------------------
    entry(_M + "cs231n_models_buggy.py:TwoLayerNetLossSummed", "model", _TWO_LAYER,
          bug="dscores not divided by N", signature="factor_m", needs="N >= 2 (and reg = 0, the default)",
          source=CS231N_MODELS),
    entry(_M + "cs231n_models_buggy.py:TwoLayerNetReluMaskIgnored", "model", _TWO_LAYER,
          bug="the hidden ReLU's backward is skipped", signature="mask_not_applied", source=CS231N_MODELS),
    entry(_M + "cs231n_models_buggy.py:TwoLayerNetNoRegGradient", "model",
          {**_TWO_LAYER, "init": {**_TWO_LAYER["init"], "reg": 0.1}},
          bug="the loss has 0.5 * reg * sum(W^2), the grads have no reg * W", needs="reg > 0",
          source=CS231N_MODELS),
    entry(_M + "dlfs_models_buggy.py:TwoLayerNetLossSummed", "model",
          bug="SoftmaxWithLoss backward not divided by the batch size", signature="factor_m",
          needs="N >= 2", source=DLFS_MODELS),
    entry(_M + "dlfs_models_buggy.py:MultiLayerNetDecayForgotten", "model", {"init": {"weight_decay_lambda": 0.1}},
          bug="the loss has 0.5 lambda sum W^2, the gradient no lambda W", needs="lambda > 0",
          source=DLFS_MODELS),
    entry(_M + "dlai_model_buggy.py:sign_flipped", "model", bug="dAL is the derivative of -J",
          signature="sign_flipped", source=DLAI),
    entry(_M + "dlai_model_buggy.py:hidden_sigmoid", "model", bug="the ReLU layers' backward takes sigmoid's derivative",
          source=DLAI),

    # -- 6. step-only code ------------------------------------------------------------------------
    entry(_M + "step_buggy.py:DenseUpdatesBeforeInputGradient", "step",
          _dense(3, 2, "input_size", "output_size", rows=False),
          bug="the input gradient is computed with the already-updated weights", shows_via="backprop",
          source=COLUMNS),
    entry(_M + "step_buggy.py:DenseSGDBiasAscends", "step",
          {"init": {"input_units": 3, "output_units": 2, "learning_rate": 0.05}, "shape": "N,3", "lr": 0.05},
          bug="the bias step is b + lr * grad", signature="sign_flipped", source=YANDEX),
    entry(_M + "step_buggy.py:StepOnlyNetworkSummed", "step",
          bug="the step is eta * sum instead of (eta / m) * sum", signature="factor_m",
          needs="a mini-batch of m >= 2", source=NIELSEN),
    entry(_M + "mlfs_buggy.py:DenseUpdatedWeightsBackward", "step",
          bug="the input gradient is taken with the weights just stepped", shows_via="backprop", source=MLFS),

    # -- 7. functions -----------------------------------------------------------------------------
    entry(_M + "functional_sum_not_mean.py:grad", "function", bug="data gradient summed, not averaged",
          signature="factor_m", needs="a batch of m >= 2"),
    entry(_M + "functional_softmax_hadamard.py:grad", "function",
          bug="softmax backward is the Hadamard g * s * (1 - s)",
          needs="softmax not paired with log-likelihood at the output, or softmax hidden"),
    entry(_M + "batchnorm_grad_no_mean_terms.py:grad", "function", {"batch_norm": True},
          bug="batch-norm backward dC/dz = inv_std * dC/du (no mean terms)",
          needs="a batch-normalised layer and m >= 2"),
    entry(_M + "tanh_softmax_prime_at_a.py:grad", "function",
          {"hidden_activation": "tanh", "output_activation": "softmax"},
          bug="tanh' evaluated at a instead of z", signature="sigma_prime_at_a", needs="a hidden layer"),

    # -- cost functions over an unrolled parameter vector -------------------------------------------
    entry(_M + "coursera_costs_buggy.py:nnCostFunctionRegGradMissing", "pair",
          bug="the penalty is in J, not in the gradient", needs="lambda_ > 0", source=COURSERA),
    entry(_M + "coursera_costs_buggy.py:nnCostFunctionBiasRegularised", "pair",
          bug="the gradient penalises the bias column, J does not", needs="lambda_ > 0", source=COURSERA),
    entry(_M + "coursera_costs_buggy.py:nnCostFunctionSigmoidGradientAtA", "pair",
          bug="delta_2 uses g'(a2) instead of g'(z2)", source=COURSERA),
    entry(_M + "coursera_costs_buggy.py:costFunctionNoMean", "pair", bug="the gradient is a sum where J is a mean",
          signature="factor_m", needs="m >= 2", source=COURSERA),

    # -- an autodiff engine's value class ---------------------------------------------------------
    entry(_M + "scalar_engine_buggy.py:OverwritesGrad", "engine", shows_via="backprop",
          bug="+ assigns the gradient (grad = out.grad) where it must accumulate (+=)",
          signature="gradient_overwritten", needs="a value used twice", source=MICROGRAD),
    entry(_M + "scalar_engine_buggy.py:AddMulSwapped", "engine", bug="+ and * have each other's backward",
          signature="operation_backward", needs="a sum or a product", source=MICROGRAD),
    entry(_M + "scalar_engine_buggy.py:TanhUnsquared", "engine", bug="tanh' taken as 1 - t",
          signature="operation_backward", needs="a tanh", source=MICROGRAD),
    entry(_M + "scalar_engine_buggy.py:PowExponentKept", "engine", bug="d(x^k)/dx = k x^k",
          signature="operation_backward", needs="a power (division is one here)", source=MICROGRAD),
    entry(_M + "scalar_engine_buggy.py:MulChainDropped", "engine", bug="* leaves out the upstream gradient",
          signature="operation_backward", needs="a product below another operation", source=MICROGRAD),
    entry(_M + "scalar_engine_buggy.py:ExpAtInput", "engine", bug="exp's backward uses x for e^x",
          signature="operation_backward", needs="an exp", source=MICROGRAD),
    entry(_M + "tensor_engine_buggy.py:ReplacesGrad", "engine", bug="parent.grad = g: a second use replaces the first's",
          signature="gradient_overwritten", needs="a value used twice", source=TENSOR_ENGINE),
    entry(_M + "tensor_engine_buggy.py:ArrayOnlyReplacesGrad", "engine", bug="parent.grad = g, arrays only",
          signature="gradient_overwritten", needs="a value used twice", source=TENSOR_ENGINE),
    entry(_M + "tensor_engine_buggy.py:GradTensorReplacesGrad", "engine",
          bug="parent.grad = g, grads are Tensors", signature="gradient_overwritten",
          needs="a value used twice", source=TENSOR_ENGINE),
    entry(_M + "scalar_engine_buggy.py:RsubReversed", "engine", shows_via="forward",
          bug="2.0 - a computed as a - 2.0 (its gradient is that of the wrong function)",
          needs="a constant on the left of -", source=MICROGRAD),
    entry(_M + "scalar_engine_buggy.py:NoTopologicalOrder", "engine",
          bug="backward() runs the closures depth first, not in topological order",
          needs="a value reached along two paths", source=MICROGRAD),
]

REFUSED = [
    {**entry(_S + "param_conventions.py:TapeDense", "layer", _dense(3, 2, "n_in", "n_out")),
     "exit": 2, "words": ["W", "b"],
     "why": "float parameters W and b whose gradients go to a module-level tape: never certify dx alone"},
]


def _import(path):
    """Import a repository file under its dotted package name, as pytest's default import mode does:
    the package is the chain of folders with an __init__.py above the file."""
    file = (ROOT / path).resolve()
    parts, folder = [file.stem], file.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(".".join(parts))


def load(entry):
    """The object an entry's target names: a class, a function or a factory, or for a
    pair the tuple (forward, backward)."""
    module_part, name = entry["target"].rsplit(":", 1)
    module = _import(module_part) if module_part.endswith(".py") else importlib.import_module(module_part)
    if entry["style"] == "pair":
        if hasattr(module, name + "_forward"):  # a prefix: affine -> affine_forward, affine_backward
            return getattr(module, name + "_forward"), getattr(module, name + "_backward")
        if hasattr(module, name + "_backward"):  # deeplearning.ai's relu(Z) and relu_backward(dA, cache)
            return getattr(module, name), getattr(module, name + "_backward")
        return getattr(module, name), getattr(module, name.replace("_forward", "_backward"))
    return getattr(module, name)
