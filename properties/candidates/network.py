"""network.py and network2.py as Nielsen wrote them: ``Name(sizes)``, ``backprop``, ``update_mini_batch``.

gradcert builds the candidate as ``Name(sizes)`` (or calls a one-argument factory with ``sizes``),
assigns its ``weights`` and ``biases``, and reads them back: what the candidate *holds* after its
own setter (float32, say) is what the oracles differentiate at and what a mutation is measured
against.  ``backprop`` is judged on single columns, as network.py calls it.

The update step, when there is one:

* ``update_mini_batch(mini_batch, eta)`` (network.py):  w -> w - (eta/m) sum_x nabla_w C_x;
* ``update_mini_batch(mini_batch, eta, lmbda, n)`` (network2.py): w -> (1 - eta lmbda/n) w -
  (eta/m) sum_x nabla_w C_x, b -> b - (eta/m) sum_x nabla_b C_x.  (w - w')/eta is then the
  gradient of the mean cost plus (lmbda/n)/2 |w|^2: the oracles' cost with l2 = lmbda/n.  Checked at
  lmbda = 0 and lmbda > 0 (a signature with defaults for lmbda and n gets both calls too).

* ``update_mini_batch(mini_batch, eta, n)``, told the training set's size and no decay: as network.py's.

Any other signature of ``update_mini_batch`` is left unchecked, and the report says so.  A network
with ``update_mini_batch`` and no ``backprop`` is the *step* style: only the step is checked.  A
port's own names for the two methods (``backpropagation``, ``update_network``, ...:
``interface.BACKPROPS``, ``interface.UPDATES``) are called as it names them.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
from gradcert.oracles.base import OracleGradient
from gradcert.oracles.rounding import rounding_bound
from gradcert.properties.candidates.backprop_function import tensor_kind
from gradcert.properties.candidates.base import (
    ETA,
    NetworkCases,
    agrees,
    judge_gradient,
)
from gradcert.properties.candidates.interface import BACKPROPS, UPDATES, accepts, named, parameters
from gradcert.properties.candidates.remote import TARGET, Remote
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array, changed, gradient_arrays
from gradcert.properties.certify import Disagreement
from gradcert.properties.compare import compare, unit_roundoff
from gradcert.properties.errors import TargetError

# The forms of a mini-batch a step is tried with, network.py's first (``NetworkChecker._step``)
BATCH_FORMS = {"pairs": "network.py's list of (x, y) pairs", "lists": "a pair of lists (xs, ys)",
               "matrices": "a pair of matrices (X, Y), an example per column"}
LAMBDAS = ("lmbda", "lmbd", "lam", "lamda", "lambda_", "lambd", "l2", "reg", "weight_decay", "decay")
TRAINING_SIZES = ("n", "n_train", "num_examples", "n_examples", "training_size", "n_samples", "N")
DECAY = (0.5, 5)  # (lmbda, n) of the decayed step: l2 = lmbda / n = 0.1, a decay the step shows clearly
COST_NAMES = (
    ("crossentropy", "cross-entropy"),
    ("quadratic", "quadratic"),
    ("meansquare", "quadratic"),
    ("mse", "quadratic"),
    ("loglikelihood", "log-likelihood"),
    ("nll", "log-likelihood"),
)


# Where ports keep network.py's weights and biases (lists of arrays), when not under those names
WEIGHT_NAMES = ("ws", "Ws", "W", "weight", "weightsT", "weights_T", "wT", "WT")
BIAS_NAMES = ("bs", "Bs", "b", "bias")

# constructor arguments that are training data, not sizes
_DATA_ARGUMENTS = ("x", "X", "y", "Y", "inputs", "targets", "data", "labels", "X_train", "y_train")


class NetworkChecker(NetworkCases):
    keep_features = False  # a network is drawn with no features it was not told of
    style = "network"

    def __init__(self, options, name, remote: Remote, interface, *, step_only=False):
        self.style = "step" if step_only else "network"
        super().__init__(options, name)
        self.remote, self.interface, self.step_only = remote, interface, step_only
        if interface.roles:
            self._around_function(interface)
        else:
            self._check_constructor(interface.description)
        probe = self._probe()  # the built object's description: its methods, its cost
        methods = probe.get("methods") or {}
        # the names this network gives network.py's two methods (a port's backpropagation, ...)
        self.backprop = named(methods, BACKPROPS) or "backprop"
        self.update = named(methods, UPDATES) or "update_mini_batch"
        if not step_only and not accepts(methods.get(self.backprop), 2):
            raise TargetError(
                f"{name}.{self.backprop}{_shown(methods.get(self.backprop))} cannot be called as "
                "backprop(x, y), network.py's interface"
            )
        self.variants = self._update_variants(methods)
        if step_only and not self.variants:
            if self.update not in methods:
                found = f"{name} has no update_mini_batch"
            else:
                found = (f"{name}.{self.update}{_shown(methods.get(self.update))} is not a signature "
                         "gradcert can call")
            raise TargetError(
                f"{found}: the step style checks network.py's update_mini_batch(mini_batch, eta), "
                "network2's (mini_batch, eta, lmbda, n) or (mini_batch, eta, n)"
                + (f"; without --style step, {name}.{self.backprop}(x, y) is checked"
                   if self.backprop in methods else "")
            )
        if options.cost is None:
            inferred = _infer_cost(probe)
            if inferred is None:
                self.note("cost: quadratic, the default (give --cost if the network implements another)")
            if options.activation is None and not (options.hidden_activation or options.output_activation):
                self.note("activation: sigmoid in every layer, the default (give --activation otherwise)")
            if inferred is not None:
                attribute, shown, cost = inferred
                self.options = options = dataclasses.replace(options, cost=(cost,))
                self.note(
                    f"cost inferred from {name}.{attribute} = {shown}: {cost} (give --cost to override)"
                )
        self.backprop_roundoff = None
        # A port whose backprop returns (nabla_w, nabla_b), its own update step reading them so: taken
        # in that order, but only where that step is checked too, or where the network's own code
        # unpacks the pair so (nb_w, nb_b = self.backprop(x, y), in a training loop gradcert cannot
        # call); network.py's own order otherwise: in its SGD a swapped pair is the bug.
        self.swapped = False
        self.batch_form = None  # the mini-batch's form its step takes (``_step``), read on the first step
        if not self.variants and not step_only:
            unpacked = _unpacked_order((probe.get("unpacks") or {}).get(self.backprop))
            if unpacked is not None:
                self.swapped = True
                self.note(f"{name}'s own code unpacks {self.backprop}(x, y) as {', '.join(unpacked)}: "
                          "its pair is taken as (nabla_w, nabla_b), in that order (network.py's is "
                          "(nabla_b, nabla_w))")
        # Examples as rows, x of shape (1, n_in), where the network holds its biases as rows (1, n):
        # z = a W + b, with W (n_in, n_out), is the only product a row bias fits (a column a would
        # broadcast W a + b to a square).  --rows / --columns says so where the layout cannot.
        # Flat biases (n,) fit both (W a + b.reshape(-1, 1), a W + b), and column biases a network that
        # takes rows and turns them (a W^T + b^T): one backprop decides.
        self.rows = options.layout == "rows" or (options.layout is None and self.layout.bias == "row")
        if self.rows and options.layout is None:
            self.note(f"{name} holds its biases as rows (1, n): its examples are taken as rows, "
                      "x of shape (1, n_in) and y (1, n_out) (give --columns otherwise)")
        self.flat = False  # examples as flat vectors, x (n_in,) and y (n_out,), np.outer's habit
        if options.layout is None and self.layout.bias in ("flat", "column") and not (self.rows or step_only):
            kind, crash = self._crashes_on_columns_alone()
            if kind == "rows":
                self.rows = True
                self.note(f"{name}.{self.backprop} raises on a column x ({crash}) and runs on a row: its "
                          "examples are taken as rows, x of shape (1, n_in) and y (1, n_out) (give "
                          "--rows or --columns to say so)")
            elif kind == "flat":
                self.flat = True
                self.note(f"{name}.{self.backprop} raises on a column x ({crash}) and on a row, and runs on "
                          "a flat vector: its examples are taken so, x of shape (n_in,) and y (n_out,)")

    # -- set-up, before any case: signatures first, then one object built to look at
    def _around_function(self, interface):
        """A free backprop function: gradcert's network around it takes its place (``backprop_function``)."""
        if self.options.init:
            raise TargetError(f"--init: {self.name} is a function, which gradcert builds no network of; "
                              "leave --init out")
        order = self.remote.network_around(TARGET, interface.roles, what=f"reading {self.name}")
        shown = ", ".join(p.name for p in parameters(interface.description.get("call")) or () if p.required)
        self.note(f"{self.name}({shown}) is driven as network.py's backprop(x, y): gradcert builds the "
                  "network and passes its weights, biases and layer count by name")
        if order == "wb":
            self.note(f"{self.name}'s return statements name its pair (nabla_w, nabla_b): read in that order")

    def _check_constructor(self, description):
        call = description.get("call")
        given = set(self.options.init or {})
        per_layer = [k for k, v in (self.options.init or {}).items() if isinstance(v, list)]
        if per_layer and self.options.sizes is None and self.options.depth is None:
            # a list per layer (activations=["tanh", "sigmoid"]) fits one depth; drawn depths vary
            name, value = per_layer[0], self.options.init[per_layer[0]]
            raise TargetError(
                f"--init gives {name} as a list of {len(value)}: a value per layer fits one depth only, "
                f"and gradcert draws networks of several; fix it with --depth (e.g. --depth {len(value)}) "
                "or --sizes"
            )
        params = parameters(call)
        if params is None:
            return
        missing = [p.name for p in params[1:] if p.required and p.name not in given]
        data = [p.name for p in params if p.required and p.name in _DATA_ARGUMENTS]
        if data and not given:
            # the "from scratch" tutorials' NeuralNetwork(x, y): built around its training data,
            # with backprop() stepping the weights by a cost it never names
            raise TargetError(
                f"{self.name}{_shown(call)} is built around its training data ({', '.join(data)}); "
                f"gradcert builds a network from its sizes, {self.name}(sizes), and hands it the data "
                "in backprop(x, y) (network.py's interface). A network whose backprop() takes no data "
                "and steps its own weights cannot be driven: write its gradient as a grad(arch, weights, "
                "biases, x, y) function, or its layers as layer classes"
            )
        if not params or not params[0].positional or missing:
            what = "factory" if self.interface.factory else "constructor"
            raise TargetError(
                f"{self.name}{_shown(call)}: gradcert builds a network as {self.name}(sizes)"
                + (
                    f"; give {', '.join(missing)} with --init (JSON), or write a one-argument factory"
                    if missing
                    else f", but its {what} takes no sizes"
                )
            )

    def _probe(self):
        sizes = [2, 3, 2]
        net = self.remote.call(
            TARGET, None, [sizes], self.options.init, keep="handle", what=f"{self.name}({sizes})"
        )
        description = self.remote.describe(net, what=f"describing {self.name}({sizes})")
        self.names = _parameter_names(description)
        self.layout = _layout(self._own_shapes(net, sizes), sizes)
        if self.interface.factory and not set(BACKPROPS + UPDATES) & set(description.get("methods") or {}):
            raise TargetError(
                f"{self.name}(sizes) returned a {description.get('type')}, which has neither "
                "backprop(x, y) nor update_mini_batch: not a network.py-style network"
            )
        self.remote.release(net)
        return description

    def _crashes_on_columns_alone(self):
        """("rows" or "flat", what backprop raised on a column x, (2, 1), of the probe's sizes) where a
        row x, (1, 2), or else a flat one, (2,), then runs; (None, None) where the column runs, or
        every form raises (the cases judge it)."""
        sizes = [2, 3, 2]
        net = self.remote.call(
            TARGET, None, [sizes], self.options.init, keep="handle", what=f"{self.name}({sizes})"
        )
        x, y = np.full((sizes[0], 1), 0.5), np.full((sizes[-1], 1), 0.5)
        what = f"{self.name}.{self.backprop}"
        try:
            self.remote.call(net, self.backprop, [x, y], what=what, names=("x", "y"))
            return None, None
        except CandidateFailure as failure:
            if failure.verdict != "crashed":
                return None, None
            message = failure.message.partition(" raised ")[2] or failure.message
            for kind, args in (("rows", [x.T, y.T]), ("flat", [x.reshape(-1), y.reshape(-1)])):
                try:
                    self.remote.call(net, self.backprop, args, what=what, names=("x", "y"))
                except CandidateFailure:
                    continue
                return kind, message
            return None, None
        finally:
            self.remote.release(net)

    def _own_shapes(self, net, sizes):
        """{attribute: [shape per layer]} as the built network holds its weights and biases, or None
        where they cannot be read as a list of arrays (the cases then say why)."""
        shapes = {}
        for attribute in ("weights", "biases"):
            try:
                value = self.remote.get(net, [("a", self.names[attribute])],
                                        what=f"reading {self.name}({sizes}).{self.names[attribute]}")
            except CandidateFailure:
                return None
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, np.ndarray) for v in value):
                return None
            shapes[attribute] = [v.shape for v in value]
        return shapes

    def _to_own(self, attribute, values):
        """Nielsen's arrays (W of shape (n_out, n_in), b a column) in the network's own layout."""
        if attribute == "weights":
            return [np.array(v.T if self.layout.transposed else v) for v in values]
        return [np.array(v).reshape(self.layout.bias_shape(v.shape[0])) for v in values]

    def _from_own(self, attribute, arrays):
        """The network's own arrays in Nielsen's layout (the same numbers)."""
        if attribute == "weights":
            return [a.T if self.layout.transposed else a for a in arrays]
        return [a.reshape(-1, 1) for a in arrays]

    def _gradient_from_own(self, result):
        """backprop's (nabla_b, nabla_w) with each nabla_w of the network's own (transposed) shape
        read back in Nielsen's; anything else is left for ``gradient_arrays`` to judge."""
        if not self.layout.transposed or not isinstance(result, (tuple, list)) or len(result) != 2:
            return result
        nabla_b, nabla_w = result
        if not isinstance(nabla_w, (tuple, list)):
            return result
        return nabla_b, [t.T if isinstance(t, np.ndarray) and t.ndim == 2 else t for t in nabla_w]

    def _update_variants(self, methods):
        """The calls of update_mini_batch to check: [(lmbda, n)], None for network.py's two arguments,
        (None, n) for a step told the training set's size and no decay: (mini_batch, eta, n)."""
        update = self.update
        if update not in methods:
            return []
        params = parameters(methods[update])
        if params is None:
            self.note(f"{update}'s signature is unknown: the update step was not checked")
            return []
        positional = [p for p in params if p.positional]
        needed = [p for p in positional if p.required]
        names = [p.name for p in positional]
        decayed = len(positional) >= 4 and names[2] in LAMBDAS and names[3] in TRAINING_SIZES
        if len(needed) == 2:
            return [None, DECAY] if decayed else [None]
        if len(needed) == 4 and decayed:
            return [(0.0, DECAY[1]), DECAY]
        if len(needed) == 3 and names[2] in TRAINING_SIZES:
            return [(None, DECAY[1])]  # the size alone (a decay without its strength cannot be)
        self.note(
            f"{update}{_shown(methods[update])} is neither network.py's (mini_batch, eta), network2's "
            "(mini_batch, eta, lmbda, n) nor (mini_batch, eta, n): the update step was not checked"
        )
        return []

    def _build(self, case):
        """The candidate built for ``case``, and the case as the candidate holds it after its setters."""
        sizes = list(case.arch.sizes)
        net = self.remote.call(
            TARGET, None, [sizes], self.options.init, keep="handle", what=f"{self.name}({sizes})"
        )
        given = {a: self._to_own(a, getattr(case, a)) for a in ("weights", "biases")}
        for attribute, values in given.items():
            name = self.names[attribute]
            self.remote.set(net, [("a", name)], values, what=f"setting {self.name}.{name}")
        held = {}  # as the network holds them, in its own layout: what a mutation is measured against
        for attribute in ("weights", "biases"):
            name = self.names[attribute]
            value = self.remote.get(net, [("a", name)], what=f"reading {self.name}.{name}")
            held[attribute] = _held(value, given[attribute], f"{self.name}.{name} after assignment")
        judged = dataclasses.replace(
            case,
            weights=tuple(np.asarray(w, np.float64) for w in self._from_own("weights", held["weights"])),
            biases=tuple(np.asarray(b, np.float64) for b in self._from_own("biases", held["biases"])),
        )
        return net, judged, held

    def check(self, case):
        net, judged, held = self._build(case)
        comparisons = []
        if not self.step_only:
            for j, (x, y) in enumerate(judged.columns()):
                single = dataclasses.replace(judged, x=x, y=y, seed=None)
                gradient, dtype = self._backprop(net, single, held)
                if j == 0:
                    again, _ = self._backprop(net, single, held)
                    deterministic(single, gradient, again, unit_roundoff(dtype),
                                  f"{self.name}.{self.backprop}")
                self.checked("nabla_b of every layer", "nabla_w of every layer")  # listed for a failure too
                found = judge_gradient(single, gradient, self.options, self.oracles, unit_roundoff(dtype))
                if not agrees(found) and (other := self._swapped_agrees(single, gradient, dtype)):
                    self._take_swapped()
                    gradient, found = other
                if not agrees(found):
                    failure = Disagreement(single, found, outer=case, gradient=gradient, dtype=dtype)
                    if self._own_conventions() and self.variants and not self.swapped and all(
                        b.shape == w.shape for b, w in zip(*gradient)
                    ):  # a port of (nabla_w, nabla_b) would read the same here
                        failure.context = (f"{self.backprop}(x, y), its pair read as (nabla_b, nabla_w): on "
                                           "this case's shapes the order cannot be told from the shapes")
                    raise failure
                comparisons += found
                self.backprop_roundoff = max(self.backprop_roundoff or 0.0, unit_roundoff(dtype))
        self.remote.release(net)
        if self.variants and case.m >= 2:
            self.checked(
                f"the {self.update} step" + (" (lmbda = 0 and > 0)" if len(self.variants) > 1 else "")
            )
            for variant in self.variants:
                comparisons += self._check_update(case, variant)
        return comparisons

    def _backprop(self, net, single, held):
        what = f"{self.name}.{self.backprop}"
        args = [self._example(single.x), self._example(single.y)]
        result = self.remote.call(net, self.backprop, args, what=what, names=("x", "y"))
        self._unchanged(net, held, self.backprop)
        if self.variants and not self.swapped and _in_weight_bias_order(result, single.arch,
                                                                         self.layout.transposed):
            self._take_swapped()
        if self.swapped and isinstance(result, (tuple, list)) and len(result) == 2:
            result = (result[1], result[0])
        result = self._gradient_from_own(result)
        nabla_b, nabla_w, dtype = gradient_arrays(result, single.arch, what)
        return (nabla_b, nabla_w), dtype

    def _own_conventions(self):
        """A port that names network.py's methods or attributes its own way (ws, backpropagation, ...),
        whose pair may come in its own order too."""
        return (self.backprop, self.update) != ("backprop", "update_mini_batch") or self.names != {
            "weights": "weights", "biases": "biases"}

    def _take_swapped(self):
        self.swapped = True
        self.note(f"{self.name}.{self.backprop} returns (nabla_w, nabla_b), and {self.update} reads it "
                  "so: taken in that order (network.py's is (nabla_b, nabla_w))")

    def _swapped_agrees(self, single, gradient, dtype):
        """Where the shapes cannot tell the order (every layer of one input: [1, 1]), whether the pair
        read the other way agrees -- a port of (nabla_w, nabla_b) met first on such a case."""
        nabla_b, nabla_w = gradient
        if not self.variants or self.swapped or any(b.shape != w.shape for b, w in zip(nabla_b, nabla_w)):
            return None
        swapped = (list(nabla_w), list(nabla_b))
        found = judge_gradient(single, swapped, self.options, self.oracles, unit_roundoff(dtype))
        return (swapped, found) if agrees(found) else None

    def _unchanged(self, net, held, method):
        for attribute in ("weights", "biases"):
            name = self.names[attribute]
            now = self.remote.get(net, [("a", name)], what=f"reading {self.name}.{name} after {method}")
            if not isinstance(now, (list, tuple)) or changed(held[attribute], now) is not None:
                raise CandidateFailure(
                    "mutated weights",
                    f"{self.name}.{method} changed the network's own "
                    f"{attribute}; backprop must leave them as they were",
                    output=self.remote.worker.output_tail(),
                )

    def _example(self, column):
        """One example (a column (n, 1)) as the network takes it: a column, a row or a flat vector."""
        return column.T if self.rows else column.reshape(-1) if self.flat else column

    def _mini_batch(self, judged, form):
        """The case's examples as a mini-batch of ``form`` (``BATCH_FORMS``): network.py's list of (x, y)
        pairs, a pair of lists (xs, ys) that a step unzips itself, or a pair of matrices (X, Y), one
        example per column (per row for a network of rows)."""
        pairs = [(self._example(x), self._example(y)) for x, y in judged.columns()]
        if form == "pairs":
            return pairs
        if form == "lists":
            return ([x for x, _ in pairs], [y for _, y in pairs])
        stack = np.vstack if self.rows or self.flat else np.hstack
        return (stack([x for x, _ in pairs]), stack([y for _, y in pairs]))

    def _step(self, case, args_of, what):
        """The network built for ``case`` after one call of its step, and the case as it holds it.  The
        mini-batch's form is network.py's unless that crashes the step and another runs it (a course's
        zip(*mini_batch) takes a pair of lists); read once, on the first step, with a note."""
        forms = [self.batch_form] if self.batch_form else list(BATCH_FORMS)
        first = None
        for form in forms:
            net, judged, held = self._build(case)
            batch = self._mini_batch(judged, form)
            try:
                self.remote.call(net, self.update, args_of(batch), what=what,
                                 names=["mini-batch"] * (2 * case.m))
            except CandidateFailure as failure:
                self.remote.release(net)
                if self.batch_form or failure.verdict != "crashed":
                    raise
                first = first or failure
                continue
            if self.batch_form is None and form != "pairs":
                raised = first.message.partition(" raised ")[2]
                self.note(f"{self.name}.{self.update} raised on network.py's mini-batch, a list of (x, y) "
                          f"pairs ({raised}), and runs on {BATCH_FORMS[form]}: its step is given that")
            self.batch_form = form
            return net, judged, held
        raise first

    def _check_update(self, case, variant):
        sized = variant is not None and variant[0] is None  # (mini_batch, eta, n): no decay
        what = f"{self.name}.{self.update}" + (
            "" if variant is None else f"(..., n={variant[1]})" if sized
            else f"(..., lmbda={variant[0]}, n={variant[1]})"
        )
        extra = [] if variant is None else [variant[1]] if sized else list(variant)
        net, judged, held = self._step(case, lambda batch: [batch, ETA, *extra], what)
        after = {
            a: self._from_own(a, _held(
                self.remote.get(net, [("a", self.names[a])],
                                what=f"reading {self.name}.{self.names[a]} after the step"),
                held[a],
                f"{self.name}.{a} after {self.update}",
            ))
            for a in ("weights", "biases")
        }
        self.remote.release(net)
        decay = 0.0 if variant is None or sized else variant[0] / variant[1]
        step_case = dataclasses.replace(judged, arch=dataclasses.replace(judged.arch, l2=decay))
        # The gradient the step implies: (before - after) / eta; with the decay, (w - w') / eta is
        # nabla_w + (lmbda / n) w, the gradient of the cost with l2 = lmbda / n.
        before_b, before_w = judged.biases, judged.weights
        after_b = [np.asarray(b, np.float64) for b in after["biases"]]
        after_w = [np.asarray(w, np.float64) for w in after["weights"]]
        implied_b = [(old - new) / ETA for old, new in zip(before_b, after_b)]
        implied_w = [(old - new) / ETA for old, new in zip(before_w, after_w)]
        # Judged at the precision of the gradient the step was built from (the lower of backprop's and
        # the weights'), with the rounding of the step itself added.  Each tensor's step rounds at the
        # precision the candidate stores it in (a float32 weights setter rounds w - eta g to float32
        # whatever the gradient's precision), and a step may be
        # taken as m per-example updates (w -= (eta/m) nabla C_x, one example at a time), each rounding
        # its partial w once: |fl(w_k - s_k) - (w_k - s_k)| <= u |w_{k+1}|, and every partial w_k is
        # within eta (1/m) sum_x |nabla C_x| <= eta M of w (M, the rounding bound's magnitude of the
        # terms the batch gradient sums, bounds that mean of magnitudes).  So the m roundings cost
        # m u (|w| + eta M), the last one u |w'|, the decay's product (1 - eta lmbda / n) w u |w|.
        # The implied gradient is formed here in float64: reading w' as float64 rounds it once more
        # when the candidate stores it wider (long double), u64 |w'|, and (w - w') rounds u64 |w - w'|.
        dtype = np.result_type(*after["weights"], *after["biases"])
        u = max(unit_roundoff(dtype), self.backprop_roundoff or 0.0)
        stored = {a: [max(unit_roundoff(t.dtype), u) for t in after[a]] for a in ("weights", "biases")}
        m = case.m
        terms = rounding_bound(step_case.arch, step_case.weights, step_case.biases, step_case.x, step_case.y)
        u64 = unit_roundoff(np.float64)

        def _read(t, old, new):  # the rounding of forming (w - w') / eta in float64 from the stored w'
            wider = unit_roundoff(t.dtype) < u64
            return ((u64 if wider else 0.0) * np.abs(new) + u64 * np.abs(old - new)) / ETA

        extra_b = [
            s * (m * (np.abs(old) + ETA * mag) + np.abs(new)) / ETA + _read(t, old, new)
            for s, t, old, new, mag in zip(stored["biases"], after["biases"], before_b, after_b,
                                           terms.magnitude_b)
        ]
        extra_w = [
            s * (m * (np.abs(old) + ETA * mag) + np.abs(new) + (np.abs(old) if decay else 0.0)) / ETA
            + _read(t, old, new)
            for s, t, old, new, mag in zip(stored["weights"], after["weights"], before_w, after_w,
                                           terms.magnitude_w)
        ]
        found = judge_gradient(
            step_case, (implied_b, implied_w), self.options, self.oracles, u, (extra_b, extra_w)
        )
        if not agrees(found):
            failure = Disagreement(
                step_case,
                found,
                part="step" if self.step_only else "update_mini_batch",
                outer=case,
                gradient=(implied_b, implied_w),
                dtype=dtype,
                extra_error=(extra_b, extra_w),
            )
            call = f"{self.update}(mini_batch, eta={ETA}" + (
                "" if variant is None else f", n={variant[1]}" if sized
                else f", lmbda={variant[0]}, n={variant[1]}"
            )
            failure.context = f"{call}): (w - w') / eta judged as the gradient of the mean cost" + (
                f" plus (lmbda / n) w = {decay:g} w" if decay else ""
            )
            raise failure
        return found


def _in_weight_bias_order(result, arch, transposed=False):
    """Whether a returned pair has nabla_w's shapes first (as the network holds its W: transposed or
    not) and nabla_b's second (columns, flat or rows), and they differ."""
    try:
        first, second = result
        first_shapes, second_shapes = [np.shape(t) for t in first], [np.shape(t) for t in second]
    except (TypeError, ValueError):
        return False
    weights, biases = [w[::-1] if transposed else w for w, _ in arch.shapes], [b for _, b in arch.shapes]
    flat, rows = [(n,) for n, _ in biases], [(1, n) for n, _ in biases]
    return weights != biases and first_shapes == weights and second_shapes in (biases, flat, rows)


def _unpacked_order(unpackings):
    """The names of the unpacking that says a pair is (nabla_w, nabla_b) -- a weights-like name, then a
    biases-like one (nb_w, nb_b; grad_w, grad_b; dW, db) -- when every unpacking of two names that
    tells says so; None otherwise (network.py's order is the contract)."""
    orders = {tuple(tensor_kind(n) for n in names): names for names in unpackings or () if len(names) == 2}
    orders = {order: names for order, names in orders.items() if set(order) == {"w", "b"}}
    return orders.get(("w", "b")) if len(orders) == 1 else None


def _parameter_names(description):
    """{"weights": name, "biases": name}: each list by its own name, network.py's where the built network
    holds it, else a port's (ws, W, a course's weightsT; bs, b) where it holds a list there (a property
    named weights, which its instance's __dict__ does not show, keeps network.py's)."""
    attributes = description.get("attributes") or {}
    names = {"weights": "weights", "biases": "biases"}
    # each list by its own name: a course's network2.py keeps biases as network.py does and its
    # weights as weightsT (in network.py's shape): before, its drawn weights went into a new
    # attribute the network never read, and its own random ones were judged
    lists = [k for k, kind in attributes.items() if kind in ("list", "tuple", "ndarray")]
    for role, others in (("weights", WEIGHT_NAMES), ("biases", BIAS_NAMES)):
        if role not in attributes:
            names[role] = next((n for n in others if n in lists), role)
    return names


@dataclasses.dataclass(frozen=True)
class Layout:
    """How a network holds its parameters: W as Nielsen's (n_out, n_in) or transposed, (n_in, n_out)
    (``np.dot(w.transpose(), a)``, a common habit of ports); b as a column (n, 1), flat (n,) or a
    row (1, n).  Read from the network built for the probe, whose sizes [2, 3, 2] tell the two
    orientations apart; the same layout is then used for every case (a square layer cannot)."""

    transposed: bool = False
    bias: str = "column"

    def bias_shape(self, n):
        return {"column": (n, 1), "flat": (n,), "row": (1, n)}[self.bias]


def _layout(shapes, sizes):
    if shapes is None or len(shapes["weights"]) != len(sizes) - 1 or len(shapes["biases"]) != len(sizes) - 1:
        return Layout()
    pairs = list(zip(sizes[1:], sizes[:-1]))
    transposed = shapes["weights"] == [(n_in, n_out) for n_out, n_in in pairs]
    biases = shapes["biases"]
    for kind in ("column", "flat", "row"):
        if biases == [Layout(bias=kind).bias_shape(n_out) for n_out, _ in pairs]:
            return Layout(transposed, kind)
    return Layout(transposed)


def deterministic(case, first, second, roundoff, what):
    """Two calls on the same input must agree within the rounding of two correct computations
    (2 gamma_N M at the candidate's precision, the comparison's own allowance for two orders of
    summation); otherwise the candidate is non-deterministic."""
    bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
    again = OracleGradient.exact("a second call", list(second[0]), list(second[1]))
    comparison = compare(first, again, bound, roundoff)
    if not comparison.agrees:
        worst = comparison.first_disagreement
        raise CandidateFailure(
            "non-deterministic",
            f"{what}: two calls on the same input differ by "
            f"{worst.max_abs_error:.3g} in {worst.name} (allowed {worst.tolerance:.2g}: "
            "rounding); a gradient must be a function of its input",
        )


def _held(value, expected, what):
    """The arrays a candidate holds, checked against the shapes it was given."""
    if not isinstance(value, (list, tuple)) or len(value) != len(expected):
        raise CandidateFailure("invalid output", f"{what} is not a list of {len(expected)} arrays")
    arrays = [as_array(v, f"{what}[{i}]") for i, v in enumerate(value)]
    for i, (a, e) in enumerate(zip(arrays, expected)):
        if a.shape != e.shape:
            raise CandidateFailure(
                "invalid output", f"{what}[{i}] has shape {a.shape}; it was given {e.shape}"
            )
    return arrays


def _infer_cost(description):
    """(attribute, what it holds, cost name) when the network names its cost (network2's self.cost)."""
    attributes = description.get("attributes") or {}
    for attribute in ("cost", "loss", "cost_function", "loss_function", "criterion"):
        shown = attributes.get(attribute)
        if shown is None:
            continue
        key = re.sub(r"[^a-z]", "", shown.lower())
        for pattern, cost in COST_NAMES:
            if pattern in key:
                return attribute, shown, cost
    return None


def _shown(signature):
    params = parameters(signature) or []
    return "(" + ", ".join(p.name for p in params) + ")"
