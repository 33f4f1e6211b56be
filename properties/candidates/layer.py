"""Layer objects: ``forward``/``backward`` and their variants, parameters found wherever they are kept.

Built with no argument, with the input width (``Layer(D)``) or with the input and output widths
(``Dense(D, M)``), around parameter arrays drawn for each case where the constructor asks for
them by name (Deep Learning from Scratch's ``Affine(W, b)``, ``ARRAY_NAMES``), plus ``--init``
(lists of numbers under an array's name become float64 arrays, whose shapes fix D and M).  A loss
layer, ``forward(x, t)`` returning the loss, gets integer labels and ``backward()`` its default
dout; an nnfs loss, ``forward(y_pred, y_true)`` with ``backward(dvalues, y_true)``, rows of
probabilities and labels, its dinputs judged as the gradient of the mean of its losses.
Before the search one probe case finds out what can be found:
the batch layout (rows are tried first, then columns), the parameters (float arrays the layer
holds after construction that forward does not change, and arrays forward creates in a
params-like dict or that get a gradient after backward: lazy initialisation), buffers (arrays
forward changes: running statistics), and each parameter's gradient (``dW`` for ``W``,
``grad_W``, ``W_grad``, ``grads['W']`` for ``params['W']``, ``_dw`` for ``_w``, a ``.grad``
beside a ``.data``, or ``--params W:dW``).  A parameter whose gradient cannot be found is refused
with exit code 2, naming it: never a certificate of dx alone.  A backward that changes the
parameters itself applies its own step: it is judged as (before - after) / lr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import finite_diff, guards
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    BATCH,
    DECOY_STREAM,
    PARAMS_STREAM,
    SAMPLE_STREAM,
    BlackBox,
    ShapeCase,
    _real_output,
    base_letter,
    diagonal_of,
    drawn,
    estimate_entries,
    mixed_signs,
    parse_letters,
    precision,
    returned_shape,
    shape_of,
)
from gradcert.properties.candidates.history import history_agrees
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.protocol import PlainStep
from gradcert.properties.candidates.remote import TARGET, path_text
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import Comparison, unit_roundoff
from gradcert.properties.errors import TargetError, UsageError

STEP_LR = 0.5  # the learning rate gradcert passes to a backward(dout, lr) that applies its own step
PARAM_DICTS = ("params", "parameters", "param", "weights", "_params", "_parameters", "variables")
GRAD_DICTS = (
    "grads",
    "gradients",
    "grad",
    "dparams",
    "_grads",
    "_gradients",
    "param_grads",
    "d_params",
    "grad_params",
)
WIDTH_NAMES = (
    "n",
    "size",
    "dim",
    "d",
    "width",
    "features",
    "num_features",
    "n_in",
    "input_dim",
    "in_features",
    "input_size",
    "fan_in",
    "n_inputs",
    "in_dim",
    "channels",
    "num_channels",
)
OUTPUT_NAMES = (
    "units",
    "n_out",
    "out_features",
    "output_dim",
    "output_size",
    "fan_out",
    "n_units",
    "num_units",
    "hidden_size",
    "n_outputs",
    "out_dim",
    "n_neurons",
)


@dataclass
class Found:
    """What the probe case found out about a layer."""

    layout: str | None  # rows / columns for a 2-D input, None for a declared shape
    letters: tuple  # the input's letters
    constructor: tuple  # what the constructor is passed, in order: letters (sizes), (name, letters) (arrays)
    parameters: list  # paths of the parameters
    gradients: dict  # parameter path -> gradient path (or an index into backward's tuple)
    buffers: list  # paths of arrays forward changes (running statistics)
    steps: bool  # backward changes the parameters: it applies its own step
    dtype: object = np.float64  # the precision of the layer's output


class LayerChecker(BlackBox):
    style = "layer"
    part = "backward"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        self.forward, self.backward = interface.forward, interface.backward
        self.takes = interface.backward_takes
        # A learning rate passed to backward is gradcert's to choose, as eta is for update_mini_batch;
        # one given to the constructor must be declared (--lr), to read the step.
        self.lr = options.lr if options.lr is not None else (STEP_LR if "lr" in self.takes else None)
        self.instance = interface.description.get("what") == "instance"
        self.output_attr = self.dx_attr = self._found_attr = None  # nnfs: self.output, self.dinputs
        # A loss whose backward takes its labels (nnfs' backward(dvalues, y_true)): given its input,
        # the predictions (drawn as rows of probabilities), or the softmax outputs a combined
        # classifier stores (dvalues_attr), and judged as the gradient of the mean of forward's losses.
        self.mean_loss = "t" in self.takes
        self.dvalues_attr, self._backward_layer = None, None
        self.dx_index = None  # where dx sits among the arrays a backward returns as a tuple (the probe's)
        self.returned = 0  # how many arrays that tuple holds
        self._training_flag()
        self.label = self._label_argument()  # a loss layer's forward(x, t): the name of its labels
        self._t = None  # the labels gradcert drew for the case at hand (None: none, or --kwargs gives them)
        self.one_hot = False  # the drawn labels as one-hot rows: the layer crashed on class indices
        self.binary = False  # a loss of one score per example, labels 0 or 1 (``_probe``)
        self.optimizer_slot = None  # an optimizer attribute gradcert fills (``_optimizer_slot``); unread
        self.loss_layer = False  # forward(x, t) returns the loss: backward is called with dout = 1
        self.guard, self.guard_seen = None, False  # -log(y + delta) in a loss layer (oracles.guards)
        drawn_labels = self.label is not None and self.label not in self.kwargs
        takes = f"the layer's input x and labels {self.label}" if drawn_labels else "the layer's input x"
        self._callable_with(self.forward, 2 if drawn_labels else 1, takes)
        self.found = self._probe()
        fixed = self._given_dims(self.found.layout or "rows")
        constructed = [c for e in self.found.constructor for c in (e[1] if isinstance(e, tuple) else (e,))]
        self.letters = self.found.letters + tuple(
            dict.fromkeys(c for c in constructed if c not in self.found.letters and not c.isdigit())
        )
        fixed = {k: v for k, v in fixed.items() if k in self.letters and k not in (options.dims or {})}
        if fixed:  # read off the arrays (or labels) --init and --kwargs give: fixed as --dims fixes them
            self.options = options = options.replace(dims={**(options.dims or {}), **fixed})
        if any(isinstance(entry, tuple) for entry in self.found.constructor):
            arrays = [e for e in self.found.constructor if isinstance(e, tuple)]
            shown = ", ".join(
                f"{name} ({', '.join(letters)}) ~ N(0, {'1/fan-in' if len(letters) >= 2 else '1/4'})"
                for name, letters in arrays
            )
            self.note(f"{self.name} is built with {shown}, drawn for each case; --init gives them")
        if options.lr is not None and not (self.found.steps or "lr" in self.takes):
            raise UsageError(
                f"--lr: {name}.{self.backward} does not change the layer's parameters, so it applies "
                "no step of its own; leave --lr out"
            )
        if self.found.steps or "lr" in self.takes:
            self.style, self.part = "step", "backward (its own step)"
            if self.lr is None:
                changed = ", ".join(path_text(p) for p in self.found.parameters) or "its parameters"
                raise UsageError(
                    f"{name}.{self.backward} changes {changed} itself (it applies its own step): "
                    "declare the learning rate it uses with --lr (and pass it to the constructor "
                    "with --init if it takes one)"
                )
            self.checked("dx", *(f"{path_text(p)} (its step)" for p in self.found.parameters))
        else:
            self.checked(
                "dx", *(f"{self._gradient_name(p)} (of {path_text(p)})" for p in self.found.parameters)
            )

    # -- set-up
    def _training_flag(self):
        """A forward that requires a training flag (nnfs' forward(inputs, training)) is given True."""
        params = parameters((self.interface.description.get("methods") or {}).get(self.forward)) or []
        for p in params[1:]:
            if p.required and p.name in TRAINING_NAMES and p.name not in self.kwargs:
                self.kwargs[p.name] = True
                self.note(f"{self.forward} is called with {p.name}=True (training mode); --kwargs sets it")

    def _label_argument(self):
        """The name of forward's labels (a loss layer's forward(x, t), Deep Learning from Scratch's
        SoftmaxWithLoss), or None; labels --kwargs gives reach it as an array (integers, or one-hot
        rows as float64)."""
        methods = self.interface.description.get("methods") or {}
        params = parameters(methods.get(self.forward)) or []
        if len(params) < 2 or params[1].name not in LABEL_NAMES or not params[1].positional:
            return None
        # A loss layer's backward starts the chain: its dout defaults (backward(dout=1)) or it takes
        # none.  A backward that needs its dout belongs to a layer of two inputs (the book's
        # MulLayer.forward(x, y), backward(dout) -> (dx, dy)), whose y is no labels.
        if self._dout_defaults() is False and not self.mean_loss:
            raise TargetError(
                f"{self.name}.{self.forward} takes a second input {params[1].name} and "
                f"{self.name}.{self.backward} needs its upstream gradient: a layer of two inputs, which "
                "gradcert does not drive as a layer (it draws labels for a loss layer's forward(x, t), whose "
                "backward(dout=1) starts the chain); write it as a function pair, NAME_forward(x, y) -> "
                "(out, cache) and NAME_backward(dout, cache) -> (dx, dy)"
            )
        name = params[1].name
        if name in self.kwargs:
            try:
                labels = np.asarray(self.kwargs[name])
            except ValueError:
                labels = np.asarray(self.kwargs[name], dtype=object)
            if labels.dtype.kind not in "biuf" or labels.ndim not in (1, 2) or not labels.size:
                raise UsageError(
                    f"--kwargs {name}: labels are a list of class indices or of one-hot rows; got "
                    f"{self.kwargs[name]!r}"
                )
            integers = labels.ndim == 1 and labels.dtype.kind in "biu"
            self.kwargs[name] = labels if integers else labels.astype(float)
        elif not params[1].required:
            return None
        return name

    def _labels(self, case, x):
        """Labels gradcert draws for ``x``: an integer class below x's last dimension per example."""
        if self.label is None or self.label in self.kwargs:
            return None
        if x.ndim == 1:  # one score per example: a binary loss's labels, 0 or 1
            return case.rng(1).integers(0, 2, size=x.shape)
        indices = case.rng(1).integers(0, x.shape[-1], size=x.shape[:-1])
        return np.eye(x.shape[-1])[indices] if self.one_hot else indices

    def _fewest_classes(self):
        """A loss layer's fewest classes: 2, or one more than the largest label --kwargs gives."""
        labels = self.kwargs.get(self.label)
        if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "biu":
            return max(2, int(labels.max()) + 1)
        return 2

    def _label_indices(self):
        """The case's labels as class indices (one-hot rows by their argmax), or None."""
        labels = self._t if self._t is not None else self.kwargs.get(self.label)
        if labels is None or labels.ndim not in (1, 2):
            return None
        return labels.argmax(axis=1) if labels.ndim == 2 else labels

    def _constructor_letters(self, layout="rows"):
        """What the constructor is given, in order: sizes as letters ((), (D,), (M,), (D, M)) and
        parameter arrays by name (Deep Learning from Scratch's Affine(W, b)) as (name, letters),
        their shapes in ``layout``; or its --init."""
        if self.instance:
            return ()
        params = parameters(self.interface.description.get("call"))
        given = set(self.options.init or {})
        needed = [p for p in (params or []) if p.required and p.name not in given]
        inputs = self._input_letters(layout)
        arrays = [p.name for p in needed if _array_letters(p.name, layout, inputs) is not None]
        sizes = [p.name.lower() for p in needed if p.name not in arrays]
        drawn_arrays = tuple((n, _array_letters(n, layout, inputs)) for n in arrays)
        if not sizes:
            return drawn_arrays
        if len(sizes) == 1 and _sizelike(sizes[0]):
            letters = ("M",) if sizes[0] in OUTPUT_NAMES else ("D",)
        elif len(sizes) == 2 and all(_sizelike(n) for n in sizes):
            letters = ("D", "M")
        else:
            raise TargetError(
                f"{self.name}({', '.join(p.name for p in params)}): gradcert passes a layer's "
                "input width, or its input and output widths, and draws parameter arrays named "
                f"{', '.join(ARRAY_NAMES[:4])}, ...; give "
                f"{', '.join(p.name for p in needed if p.name not in arrays)} with --init (JSON), e.g. "
                "--init '{" + ", ".join(f'"{p.name}": ...' for p in needed if p.name not in arrays) + "}'"
            )
        order = iter(letters)
        return tuple(
            (p.name, _array_letters(p.name, layout, inputs)) if p.name in arrays else next(order)
            for p in needed
        )

    def _filters(self):
        """Whether the constructor's weight array is drawn as a convolution's filters (its input of rank
        4), whose kernel needs every spatial size at least CONV_KERNEL."""
        kernel = (str(CONV_KERNEL),) * 2
        return any(isinstance(c, tuple) and c[1][-2:] == kernel for c in self.found.constructor)

    def _input_letters(self, layout):
        if self.options.shape:
            return parse_letters(self.options.shape)
        if self.binary:
            return ("N",)
        return ("N", "D") if layout == "rows" else ("D", "N")

    def _init(self):
        """--init as the constructor gets it: lists of numbers under an array's name (ARRAY_NAMES,
        running_mean, an RNN's Wx, Wh, b), rows of numbers under any name, and lists of numbers
        that are not all whole, as float64 arrays; every other value as JSON gives it (a list of
        sizes stays a list)."""
        return {k: _as_array(k, v) if _names_array(k) or _numbers_not_sizes(v) else v
                for k, v in (self.options.init or {}).items()}

    def _given_dims(self, layout):
        """The letters --init's arrays fix, read off their shapes (W (D, M) in rows, (M, D) in
        columns; a bias M, gamma D; an array of another rank, a convolution's W, fixes none), and
        those labels --kwargs gives fix (N, and the classes D of one-hot rows); a UsageError where
        two of them, or --dims, disagree."""
        fixed, given = {}, [(f"--init {k}", v, _array_letters(k, layout)) for k, v in self._init().items()]
        if self.label in self.kwargs:
            labels = self.kwargs[self.label]
            given.append((f"--kwargs {self.label}", labels, ("N", "D") if labels.ndim == 2 else ("N",)))
        for key, value, letters in given:
            if letters is None or not isinstance(value, np.ndarray) or value.ndim != len(letters):
                continue
            for letter, size in zip(letters, value.shape):
                if letter.isdigit():
                    continue
                if fixed.get(letter, size) != size or (self.options.dims or {}).get(letter, size) != size:
                    raise UsageError(
                        f"{key}: its shape {value.shape} makes {letter} = {size}, but "
                        f"{letter} = {fixed.get(letter, (self.options.dims or {}).get(letter))} elsewhere"
                    )
                fixed[letter] = size
        return fixed

    def _drawn_arrays(self, dims, constructor, case):
        """The parameter arrays the constructor takes, drawn for ``case``: a weight (2-D and up)
        N(0, 1/fan-in), fan-in its input width D (a filter's C FH FW), the rest N(0, 1/4), as the model
        style draws them."""
        rng = case.rng(PARAMS_STREAM)
        arrays = {}
        for entry in constructor:
            if isinstance(entry, tuple):
                name, letters = entry
                shape = shape_of(letters, dims)
                # fan-in: D, or a convolution's filter, its channels times its height and width
                fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else dims.get("D")
                scale = 1.0 / np.sqrt(fan_in) if len(shape) >= 2 and fan_in else 0.5
                arrays[name] = scale * rng.standard_normal(shape)
        return arrays

    def build(self, dims, constructor, letters, case=None):
        if self.instance:
            return self.remote.copy(TARGET, what=f"copying {self.name}")
        arrays = self._drawn_arrays(dims, constructor, case or ShapeCase(dims, 0))
        args = [arrays[c[0]] if isinstance(c, tuple) else dims[c] for c in constructor]
        init = {k: (dims[v] if isinstance(v, str) and v in dims else v) for k, v in self._init().items()}
        shown = ", ".join(
            f"{c[0]}=<drawn {arrays[c[0]].shape}>" if isinstance(c, tuple) else str(dims[c])
            for c in constructor
        )
        layer = self.remote.call(TARGET, None, args, init, keep="handle", what=f"{self.name}({shown})")
        self._set_up(layer, dims, letters)
        return layer

    def _set_up(self, layer, dims, letters):
        """What a network does to a layer before its first forward, where the layer asks for it
        (ML-From-Scratch's): ``set_input_shape(shape)`` with the input's shape but the batch, and
        ``initialize(optimizer)`` with gradcert's plain SGD step (``protocol.PlainStep``), whose
        learning rate then reads the step backward takes."""
        methods = self.interface.description.get("methods") or {}
        if len(_required(methods.get("set_input_shape"))) == 1 and letters and letters[0] == "N":
            shape = shape_of(letters[1:], dims)
            self.remote.call(layer, "set_input_shape", [shape], what=f"{self.name}.set_input_shape({shape})")
        needed = _required(methods.get("initialize"))
        if len(needed) == 1 and "optim" in needed[0].lower():
            self.lr = self.options.lr if self.options.lr is not None else STEP_LR
            self.remote.call(
                layer, "initialize", [PlainStep(self.lr)], what=f"{self.name}.initialize(optimizer)"
            )
            self.note(
                f"{self.name}.initialize is given a plain SGD step (w - {self.lr:g} grad) as its optimizer"
            )
        elif self._optimizer_slot(layer):
            self.lr = self.options.lr if self.options.lr is not None else STEP_LR
            self.remote.set(layer, [("a", "optimizer")], PlainStep(self.lr),
                            what=f"setting {self.name}.optimizer")

    def _optimizer_slot(self, layer):
        """Whether the layer holds an ``optimizer`` that is None until a network sets one (the FAU
        exercises' layers: backward then steps with ``optimizer.calculate_update(w, grad)``), read once:
        it is given gradcert's plain SGD step, and its step is judged with its dx."""
        if self.optimizer_slot is None:
            try:
                held = self.remote.get(layer, [("a", "optimizer")], what=f"reading {self.name}.optimizer")
            except CandidateFailure:
                held = False
            self.optimizer_slot = held is None
            if self.optimizer_slot:
                lr = self.options.lr if self.options.lr is not None else STEP_LR
                self.note(f"{self.name}.optimizer is set to a plain SGD step (w - {lr:g} grad), as a network "
                          "sets it: its backward's step is judged with its dx")
        return self.optimizer_slot

    def _input(self, case, shape, stream, dtype=np.float64, zeros=True):
        """The layer's input for ``case``: drawn (``blackbox.drawn``), or for a loss of predictions
        (``mean_loss``) rows of probabilities, the softmax of N(0, 1) rows, positive and summing to 1."""
        if not self.mean_loss:
            return drawn(case, shape, stream, zeros=zeros, dtype=dtype, positive=self.positive)
        z = case.rng(stream).standard_normal(shape)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return (e / e.sum(axis=-1, keepdims=True)).astype(dtype).astype(np.float64)

    def _forward_args(self, x):
        return [x] if self._t is None else [x, self._t]

    def call_forward(self, layer, x):
        what = f"{self.name}.{self.forward}"
        out = self.remote.call(
            layer, self.forward, self._forward_args(x), self.kwargs, what=what, fresh=True, mutable=True
        )
        if out is None:  # nnfs' convention: forward stores self.output and returns nothing
            out = self._stored(layer, OUTPUT_ATTRS, None, f"{what} returned None and holds no self.output")
            self.output_attr = self.output_attr or self._found_attr
        return _real_output(out, what)

    def _stored(self, layer, names, shape, missing):
        """The first float array among attributes ``names`` (of ``shape``, if given) the layer holds."""
        held = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays")
        for name in names:
            value = held.get((("a", name),))
            if value is not None and (shape is None or value.shape == shape):
                self._found_attr = name
                return value
        raise CandidateFailure("invalid output", missing)

    def _dx_names(self):
        params = parameters((self.interface.description.get("methods") or {}).get(self.forward)) or []
        first = params[0].name if params else "inputs"
        return (f"d{first}", f"d_{first}", f"grad_{first}", f"{first}_grad") + DX_ATTRS

    def _backward_args(self, x, dout):
        if self.loss_layer and self.takes == ("dout",) and self._dout_defaults():
            return []  # backward(dout=1): called as its author calls it
        if self.mean_loss and self.dvalues_attr is not None:  # the combined softmax classifier's
            given = self._held_output(self._backward_layer)
            if given is None or given.shape != np.shape(x):
                raise CandidateFailure(
                    "invalid output",
                    f"{self.name} holds no self.{self.dvalues_attr} of the input's shape {np.shape(x)} "
                    f"after {self.forward}",
                )
            x = given
        labels = self._t if self._t is not None else self.kwargs.get(self.label)
        return [{"dout": dout, "x": x, "lr": self.lr, "t": labels}[t] for t in self.takes]

    def _dout_defaults(self):
        """Whether backward's upstream gradient may be left out (backward(dout=1), or no argument);
        None where its signature is unknown."""
        params = parameters((self.interface.description.get("methods") or {}).get(self.backward))
        if params is None:
            return None
        params = [p for p in params if p.positional and p.name != "self"]
        return not params or params[0].has_default

    def call_backward(self, layer, x, dout):
        what = f"{self.name}.{self.backward}"
        self._backward_layer = layer
        result = self.remote.call(layer, self.backward, self._backward_args(x, dout), what=what, mutable=True)
        extras = []
        if isinstance(result, (tuple, list)) and result and not isinstance(result[0], (float, int)):
            result, extras = self._split(list(result), x, what)
        if result is None:  # nnfs' convention: backward stores self.dinputs and returns nothing
            names = (self.dx_attr,) if self.dx_attr else self._dx_names()
            result = self._stored(
                layer,
                names,
                np.shape(x),
                f"{what} returned None and holds no self.dinputs (or dx, grad_input) of the input's shape",
            )
            self.dx_attr = self._found_attr
        dx = as_array(result, f"{what} (dx)")
        if dx.shape != np.shape(x):
            hint = " (transposed?)" if dx.shape == np.shape(x)[::-1] else ""
            raise CandidateFailure(
                "invalid output",
                f"{what} returned shape {dx.shape}; expected {np.shape(x)}, "
                f"the shape of the layer's input{hint}",
            )
        return dx, extras

    def _split(self, entries, x, what):
        """(dx, the other arrays) of a tuple backward returns: dx is the one entry of x's shape, found
        at the probe (whose sizes differ from one another) and kept at that place for every case;
        (dx, dW, db) and (dgamma, dbeta, dx) alike.  Two entries of x's shape: exit 2, never a guess."""
        if self.dx_index is None:
            shaped = [i for i, e in enumerate(entries) if returned_shape(e) == np.shape(x)]
            if len(shaped) > 1:
                raise TargetError(
                    f"{what} returns {len(entries)} arrays, {len(shaped)} of them (entries "
                    f"{', '.join(map(str, shaped))}, counted from 0) of the input's shape {np.shape(x)}: "
                    "gradcert cannot tell which one is dx; give sizes that tell the input from the "
                    "parameters apart (--dims, --shape, --init)"
                )
            self.dx_index, self.returned = (shaped[0] if shaped else 0), len(entries)
            if self.dx_index:
                self.note(
                    f"{what} returns {len(entries)} arrays: dx is entry {self.dx_index} (counted from 0), "
                    "the one of the input's shape"
                )
        if len(entries) != self.returned:
            raise CandidateFailure(
                "invalid output",
                f"{what} returned {len(entries)} arrays; on gradcert's first case, {self.returned}",
            )
        dx = entries[self.dx_index]
        return dx, entries[: self.dx_index] + entries[self.dx_index + 1 :]

    def _entry(self, index):
        """The place among ``extras`` (backward's tuple without dx) of entry ``index`` of that tuple."""
        return index if index < self.dx_index else index - 1

    def _first_forward(self, case, at, letters, constructor):
        """The probe's first forward: (layer, x, out, the layer's arrays before it).  Where it fails at
        drawn inputs <= 0, again at positive ones (``BlackBox.domain``); where a loss layer's crashes
        on integer labels, again on one-hot rows (``one_hot``), its author's other convention."""
        try:
            return self._forward_once(case, at, letters, constructor)
        except CandidateFailure as failure:
            if self._t is None or self._t.ndim != 1 or failure.verdict != "crashed":
                raise
            positive, notes = self.positive, list(self.notes)
            self.one_hot = True
            try:
                found = self._forward_once(case, at, letters, constructor)
            except CandidateFailure:
                self.one_hot, self.positive, self.notes[:] = False, positive, notes
                raise failure from None
            self.note(f"{self.name}.{self.forward} crashed on integer labels {self.label} and runs on "
                      "one-hot rows: its labels are drawn one-hot")
            return found

    def _forward_once(self, case, at, letters, constructor):
        """One forward at the probe case; where it fails at inputs <= 0, once more at positive ones,
        kept only if that one runs (else the first failure stands)."""
        first, positive, notes = None, self.positive, list(self.notes)
        while True:
            x = self._input(case, shape_of(letters, at), 0, zeros=False)
            if not self.positive and not self.mean_loss:
                x = mixed_signs(x)
            self._t = self._labels(case, x)
            layer = self.build(at, constructor, letters, case)
            before = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays")
            try:
                return layer, x, self.call_forward(layer, x), before
            except CandidateFailure as failure:
                self.remote.release(layer)
                if first is None and self.domain(failure, [x], f"{self.name}.{self.forward}"):
                    first = failure
                    continue
                if first is not None:
                    self.positive, self.notes[:] = positive, notes
                    raise first from None
                raise

    def _probe(self):
        """The probe (``_probe_at``); for a loss layer that crashes on rows of scores (N, D) without a
        declared --shape, once more on one score per example (N,) with labels 0 or 1, a binary
        loss's (Deep Learning from Scratch 2's SigmoidWithLoss), kept with a note where that runs."""
        saved = (self.positive, self.one_hot, list(self.notes))
        try:
            return self._probe_at()
        except CandidateFailure as failure:
            if self.label is None or self.options.shape or self.label in self.kwargs or (
                    failure.verdict != "crashed"):
                raise
            first = failure
        self.binary = True
        self.positive, self.one_hot, self.notes[:] = saved[0], saved[1], saved[2]
        try:
            found = self._probe_at()
        except CandidateFailure:
            self.binary = False
            self.positive, self.one_hot, self.notes[:] = saved[0], saved[1], saved[2]
            raise first from None
        self.note(f"{self.name} crashed on rows of scores (N, D) ({first.message}) and runs on one score "
                  "per example (N,) with labels 0 or 1, a binary loss: it is drawn so (--shape fixes it)")
        return found

    def _probe_at(self):
        """One probe case (N one more than the widths, so rows and columns cannot be confused)."""
        dims = {"N": 4, "D": 3, "M": 2, "F": 2}  # F: a convolution's filters
        layouts = [self.options.layout] if self.options.layout else ["rows", "columns"]
        if self.label is not None and not self.options.layout:
            layouts = ["rows"]  # a loss layer's scores: one row per example, the classes along it
        if self.options.shape:
            layouts = [None]
            shape = parse_letters(self.options.shape)
            for i, letter in enumerate(map(base_letter, shape)):
                if not letter.isdigit():  # an image's height and width room for a drawn 3 x 3 filter
                    size = 3 if letter == "N" else CONV_KERNEL + 1 if len(shape) == 4 and i >= 2 else 2
                    dims.setdefault(letter, (self.options.dims or {}).get(letter, size))
        if self.label is not None:
            fewest = self._fewest_classes()
            dims["D"] = max(dims["D"], fewest)
            if (self.options.dims or {}).get("D", fewest) < fewest:
                raise UsageError(
                    f"--kwargs {self.label}: a label {fewest - 1} needs D >= {fewest} classes; "
                    f"--dims gives D = {self.options.dims['D']}"
                )
        dims.update(self.options.dims or {})
        first_error = None
        for layout in layouts:
            constructor = self._constructor_letters(layout or "rows")
            at = {**dims, **self._given_dims(layout or "rows")}
            letters = self._input_letters(layout)
            case = ShapeCase(at, 1)
            try:
                layer, x, out, before = self._first_forward(case, at, letters, constructor)
            except CandidateFailure as failure:
                first_error = first_error or (failure, constructor, at)
                continue
            if layout is not None and len(layouts) > 1:
                self.note(
                    f"batches as {layout} ({'N, D' if layout == 'rows' else 'D, N'}), inferred: the layer "
                    f"accepted them{'' if layout == 'rows' else ' and refused rows'}; --layout fixes it"
                )
            return self._discover(layer, x, out, before, layout, letters, constructor, case)
        failure, constructor, at = first_error
        arrays = [c for c in constructor if isinstance(c, tuple)]
        if arrays:  # the shapes were gradcert's guess: an interface to declare, not a crash to judge
            shapes = ", ".join(f"{n} {shape_of(letters, at)}" for n, letters in arrays)
            raise TargetError(
                f"{self.name}'s {self.forward} failed with the parameter arrays gradcert drew ({shapes}, "
                f"for an input {shape_of(self._input_letters(layouts[-1]), at)}): {failure.message}; "
                "give them with --init (JSON), or the input's shape with --shape"
            )
        raise failure

    def _discover(self, layer, x, out, before, layout, letters, constructor, case):
        after = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays after {self.forward}")
        self.loss_layer = self.label is not None and (out.size == 1 or self.mean_loss)
        dout = self._dout(case, out)
        buffers = [p for p in before if p in after and not np.array_equal(before[p], after[p])]
        stable = [p for p in before if p in after and np.array_equal(before[p], after[p])]
        created = [p for p in after if p not in before and not _is_cache(after[p], x, out)]
        if self.mean_loss:
            self._loss_notes(layer, x, out)
        dx, extras = self.call_backward(layer, x, dout)
        later = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays after {self.backward}")
        if self.options.params:
            params, gradients = self._explicit(self.options.params, after, later, extras)
            return Found(layout, letters, constructor, params, gradients, buffers, False, out.dtype)
        partners = {path: _partner(path, later, before) for path in stable + created}
        taken = {partner for partner in partners.values() if partner is not None}
        for path in self._state(layer, x, case, [p for p in created if partners[p] is not None], after):
            partners[path] = None  # its gradient (a recurrent layer's dh) is taken, and not judged
        params, gradients = [], {}
        for path, partner in partners.items():
            if path in taken or path[0][1] in GRAD_DICTS:
                continue  # a gradient array itself (dW allocated by the constructor)
            # Without a gradient, an array is a parameter when the constructor made it and forward
            # left it alone (unless its name says buffer), or when forward made it in a params dict
            # (lazy initialisation); anything else forward made is a cache of its own.
            required = (path in stable and not _BUFFER.search(path_text(path).lower())) or (
                path in created and path[0][1] in PARAM_DICTS
            )
            if partner is None and not required:
                continue
            params.append(path)
            if partner is not None:
                gradients[path] = partner
        ambiguous = self._match_returned(params, gradients, extras, after)
        self._refuse_unrecognised(layer, params)
        if any(p in later and not np.array_equal(after[p], later[p]) for p in params):
            return Found(layout, letters, constructor, params, {}, buffers, True, out.dtype)
        for path in self._unread(layer, x, out, [p for p in params if p not in gradients], after):
            params.remove(path)
        missing = [p for p in params if p not in gradients]
        # A gradients dict that holds some parameters' gradients and not another's: that one was
        # not computed -- a bug to judge (its gradient taken as 0), not an interface to refuse.
        containers = {g[0] for g in gradients.values() if isinstance(g, tuple) and g[0][1] in GRAD_DICTS}
        for path in list(missing):
            if containers and path[0][1] in PARAM_DICTS and len(path) == 2:
                gradients[path] = ("absent", (next(iter(containers)), path[1]))
                missing.remove(path)
        if missing and ambiguous:
            shown = "; ".join(
                f"entries {', '.join(map(str, entries))} of shape {shape} and "
                f"{', '.join(map(path_text, paths))}"
                for shape, entries, paths in ambiguous
            )
            example = ",".join(
                f"{path_text(p)}:{e}" for _, entries, paths in ambiguous for p, e in zip(paths, entries)
            )
            raise TargetError(
                f"{self.name}.{self.backward} returns gradients beside dx that gradcert cannot match to "
                f"the parameters by shape alone ({shown}): say which entry of the tuple it returns "
                f"(counted from 0) is which parameter's gradient with --params, e.g. --params {example}"
            )
        if missing:
            names = ", ".join(path_text(p) for p in missing)
            raise TargetError(
                f"{self.name} holds float parameters ({names}) whose gradients gradcert cannot find "
                f"after {self.backward} (it looks for d<name>, grad_<name>, <name>_grad, grads[...] "
                f"beside params[...], .grad beside .data); name them with --params "
                f"{','.join(path_text(p) + ':d' + path_text(p) for p in missing)}"
            )
        if buffers:
            self.note(
                f"not parameters (changed by {self.forward}): {', '.join(path_text(p) for p in buffers)}"
            )
        if self.loss_layer and not self.mean_loss and not params and (len(letters) == 2 or self.binary):
            self.guard = self._find_guard(case, letters, constructor, out)
        return Found(layout, letters, constructor, params, gradients, buffers, False, out.dtype)

    def _unread(self, layer, x, out, paths, after):
        """Of the arrays ``paths`` with no gradient beside them, those forward never reads: every entry
        moved (by half its size and a half) leaves its output exactly as it was -- a bias the
        weights' extra row stands in for (the FAU exercises' FullyConnected keeps both).  No
        parameter of the layer, so none of its gradient is asked for; said in a note."""
        unread = []
        for path in paths:
            try:
                moved = self._outputs(layer, x)(("param", path))(np.array([after[path] * 1.5 + 0.5]))
            except CandidateFailure:
                continue  # no evidence: it stays a parameter, and its gradient is asked for
            if moved.shape[1:] == out.shape and np.array_equal(moved[0], out):
                unread.append(path)
        if unread:
            self.note(f"not parameters (held, but never read by {self.forward}): "
                      f"{', '.join(path_text(p) for p in unread)}")
        return unread

    def _state(self, layer, x, case, paths, after):
        """Of the arrays ``paths`` that forward made and backward put a gradient beside, those a second
        forward at another input writes anew: state, not parameters -- a recurrent layer's last hidden
        state h, beside the dh its backward leaves for the layer before (Deep Learning from Scratch
        2's TimeRNN), which a forward not stateful resets, so no perturbation of it moves anything.
        A parameter made lazily by the first forward stays as it was."""
        if not paths:
            return []
        try:
            self.call_forward(layer, self._input(case, x.shape, 7, zeros=False))
            again = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays after {self.forward}")
        except CandidateFailure:
            return []  # no evidence: the parameters stand
        state = [p for p in paths if p in again and not np.array_equal(after[p], again[p])]
        if state:
            self.note(f"not parameters (written anew by every {self.forward}, state): "
                      f"{', '.join(path_text(p) for p in state)}")
        return state

    def _match_returned(self, params, gradients, extras, after):
        """Match the arrays backward returns beside dx to the parameters whose gradient is not found
        elsewhere, by shape, where a shape is that of one returned array and one such parameter;
        arrays matching none are ignored with a note.  Returns the shapes shared by more than one
        (shape, tuple entries, parameters): which is which, the order alone would say -- a guess."""
        unmatched = [p for p in params if p not in gradients]
        entry = {i: i if i < self.dx_index else i + 1 for i in range(len(extras))} if extras else {}
        by_shape = {}
        for index, extra in enumerate(extras):
            by_shape.setdefault(returned_shape(extra), ([], []))[0].append(index)
        for path in unmatched:
            by_shape.setdefault(after[path].shape, ([], []))[1].append(path)
        ambiguous, ignored = [], []
        for shape, (indices, paths) in by_shape.items():
            if len(indices) == 1 and len(paths) == 1:
                gradients[paths[0]] = indices[0]
            elif indices and paths:
                ambiguous.append((shape, [entry[i] for i in indices], paths))
            else:
                ignored += [entry[i] for i in indices]
        if ignored:
            self.note(
                f"{self.name}.{self.backward} returns arrays beside dx that are no parameter's gradient "
                f"by shape (entries {', '.join(map(str, sorted(ignored)))}, counted from 0): not judged"
            )
        return ambiguous

    def _dout(self, case, out):
        """The upstream gradient: drawn, or 1 for the loss a loss layer returns (its gradient), 1/N
        for each of the N per-sample losses of a loss judged by their mean (``mean_loss``)."""
        if self.mean_loss:
            return np.full(out.shape, 1.0 / max(out.size, 1))
        return np.ones(out.shape) if self.loss_layer else drawn(case, out.shape, 1, zeros=False)

    def _held_output(self, layer):
        """The array a layer keeps in self.output (None where it holds none)."""
        try:
            value = self.remote.get(layer, [("a", "output")], what=f"reading {self.name}.output")
        except CandidateFailure:
            return None
        return value if isinstance(value, np.ndarray) else None

    def _loss_notes(self, layer, x, out):
        """A loss judged by the mean of its losses: what it is given, said once, and where a combined
        softmax classifier keeps the outputs its backward takes (nnfs' self.output)."""
        held = self._held_output(layer)
        if held is not None and held.shape == np.shape(x) and out.size != held.size:
            self.dvalues_attr = "output"
        given = "the softmax outputs it stores in self.output" if self.dvalues_attr else "the inputs"
        self.note(
            f"{self.name}.{self.backward} is judged as the gradient of the mean of the losses "
            f"{self.forward} returns (what nnfs' Loss.calculate returns), given {given} and "
            f"{self.label}; the inputs are drawn as rows of probabilities (positive, summing to 1)"
        )

    def _refuse_unrecognised(self, layer, params):
        """A gradient the layer keeps (dgamma) beside a parameter it holds in a form gradcert cannot
        perturb (a list of floats, a Python float): exit 2 naming it, never a certificate without it."""
        try:
            held = self.remote.get(layer, [("a", "__dict__")], what=f"reading {self.name}'s attributes")
        except CandidateFailure:
            return  # no __dict__ (slots): the float arrays found are all there is to read
        if not isinstance(held, dict):
            return
        found = {path_text(p) for p in params}
        for name, value in held.items():
            if name in found or not _float_container(value):
                continue
            grads = [g for g in _partner_names(name) if g in held and _numeric(held[g])]
            if grads:
                raise TargetError(
                    f"{self.name} holds {name} as a {type(value).__name__}, not a NumPy float array, so "
                    f"gradcert cannot perturb it to check {grads[0]}: keep it as an array "
                    f"(np.asarray({name}, dtype=float)); --init passes JSON lists of numbers as arrays"
                )

    def _find_guard(self, case, letters, constructor, out):
        """The delta a loss layer adds inside its log, -log(softmax(x)_t + delta) (``oracles.guards``,
        as the model style reads it off predict(x)): read off two batches of scores x at the
        probe's sizes; None where the layer is no softmax cross-entropy of its rows, or adds none."""
        batches = []
        for seed in (0, 1):
            at = ShapeCase(case.dims, seed)
            x = drawn(at, shape_of(letters, at.dims), 0, zeros=False, positive=self.positive)
            self._t = self._labels(at, x)
            labels = self._label_indices()
            if labels is None or labels.shape != x.shape[:1]:
                return None
            layer = self.build(at.dims, constructor, letters, case)
            try:
                loss = self.call_forward(layer, x)
            except CandidateFailure:
                return None  # the probe's forward ran: the loss is then judged as it is
            finally:
                self.remote.release(layer)
            batches.append((loss, self._scores(x), labels))
        return guards.find(batches, unit_roundoff(out.dtype), 0)

    def _scores(self, x):
        """x as the softmax's scores the guard is read against: a binary loss's one score per example
        is the pair (0, x), whose softmax is (1 - sigmoid(x), sigmoid(x))."""
        return np.stack([np.zeros_like(x), x], axis=-1) if self.binary else x

    def _explicit(self, mapping, after, later, extras):
        params, gradients = [], {}
        for name, grad in mapping:
            path = _find_path(name, after)
            partner = _find_path(grad, later)
            if grad.isdigit() and partner is None and path is not None:  # an entry of backward's tuple
                index = int(grad)
                if not extras or index == self.dx_index or index > len(extras):
                    returned = f"{len(extras) + 1} arrays, dx entry {self.dx_index}" if extras else "no tuple"
                    raise UsageError(
                        f"--params {name}:{grad}: {self.name}.{self.backward} returns {returned}; "
                        "name an entry of its tuple other than dx, counted from 0"
                    )
                params.append(path)
                gradients[path] = self._entry(index)
                continue
            if path is None:
                raise UsageError(
                    f"--params {name}:{grad}: {self.name} holds no float array {name!r} after "
                    f"{self.forward} (it holds {', '.join(path_text(p) for p in after) or 'none'})"
                )
            if partner is None:
                raise UsageError(
                    f"--params {name}:{grad}: {self.name} holds no float array {grad!r} after {self.backward}"
                )
            params.append(path)
            gradients[path] = partner
        return params, gradients

    # -- cases
    def strategy(self):
        # a loss layer's classes: at least two (one class is no softmax, and one-hot then
        # cannot be told from integer labels)
        minimums = {self.found.letters[-1]: self._fewest_classes()} if self.loss_layer else {}
        if self._filters():  # a 3 x 3 filter needs an image of 3 x 3 at least (no padding by default)
            minimums.update(dict.fromkeys(map(base_letter, self.found.letters[2:]), CONV_KERNEL))
        return self.letter_strategy(self.letters, len(self.found.letters), minimums or None)

    def check(self, case):
        layer = self.build(case.dims, self.found.constructor, self.found.letters, case)
        x_dtype = precision(self.found.dtype)
        shape = shape_of(self.found.letters, case.dims)
        x = self._input(case, shape, 0, dtype=x_dtype)
        self._t = self._labels(case, x)
        # A forward at another input first: a backward that reads what the layer's first forward
        # ever cached, not its last one's, then differs from the forward at x it is judged against.
        self.call_forward(layer, self._input(case, shape, DECOY_STREAM, dtype=x_dtype))
        out = self.call_forward(layer, x)
        dout = self._dout(case, out)
        outputs = self._outputs(layer, x)
        sample = case.rng(SAMPLE_STREAM)
        # A loss layer with a guard in its log is judged against the loss as written and, where its
        # dx fails that, against the loss without the guard; once the guard has explained a case,
        # without it first.
        order = (None, self.guard) if not self.guard_seen else (self.guard, None)
        fd_x = self._dx_estimate(outputs, x, dout, out, sample, order[0])
        holds = self.remote.snapshot(layer, what=f"reading {self.name}'s parameters")
        for path in self.found.parameters:
            if path not in holds:
                raise CandidateFailure(
                    "invalid output", f"{self.name} no longer holds {path_text(path)} after {self.forward}"
                )
        fd = {
            path: estimate_entries(
                "vjp",
                outputs(("param", path)),
                holds[path],
                dout,
                dtype=precision(out.dtype, holds[path].dtype),
                rng=sample,
            )
            for path in self.found.parameters
        }
        if self.found.steps or "lr" in self.takes:
            return self._check_step(case, layer, x, dout, fd_x, fd, holds)
        self.call_forward(layer, x)  # the cache as forward leaves it at x, after the probes
        dx, extras = self.call_backward(layer, x, dout)
        later = self.remote.snapshot(layer, what=f"reading {self.name}'s gradients")
        grads = {
            path: _gradient(self.found.gradients[path], later, extras, self.name, holds[path].shape)
            for path in self.found.parameters
        }
        self.call_forward(layer, x)
        dx_again, _ = self.call_backward(layer, x, dout)
        roundoff = unit_roundoff(np.result_type(dx, *grads.values()))
        self.repeat_agrees([dx], [dx_again], f"{self.name}.{self.backward}", roundoff)
        tensors = [self.judge("dx", dx, fd_x, roundoff)]
        if self.guard is not None and not Comparison("finite-diff", tensors).agrees:
            other = self._dx_estimate(outputs, x, dout, out, case.rng(SAMPLE_STREAM), order[1])
            retried = [self.judge("dx", dx, other, roundoff)]
            if Comparison("finite-diff", retried).agrees:
                tensors, fd_x = retried, other
                self.guard_seen = self.guard_seen or order[1] is not None
            elif order[0] is not None:
                tensors, fd_x = retried, other  # a failure is reported against the loss as written
        if self.guard_seen:
            self.note(
                f"{self.name}.{self.forward} adds {self.guard:.3g} inside its log, -log(y + "
                f"{self.guard:.3g}): its backward's (y - t) / N is the gradient of the loss without it, "
                f"which it was judged against; against the loss as written it is off by up to "
                f"{self.guard:.1g} / y relative"
            )
        names = {}
        for path in self.found.parameters:
            name = self._gradient_name(path)
            names[name] = path
            grad = grads[path]
            if grad.shape != holds[path].shape:
                raise CandidateFailure(
                    "invalid output",
                    f"{self.name}: the gradient of {path_text(path)} has shape "
                    f"{grad.shape}; expected {holds[path].shape}",
                )
            tensors.append(self.judge(name, grad, fd[path], roundoff))

        def diagnose(name):
            if self._stale(case, x, dout, fd_x, fd, roundoff):
                return signatures.Diagnosis(name, "stale_cache")
            if name != "dx":
                estimate = fd[names[name]]
                return signatures.diagnose(
                    name, grads[names[name]], estimate.value, batch=case.m, kink=estimate.kink
                )
            found = signatures.diagnose(
                "dx",
                dx,
                fd_x.value,
                dout=dout,
                x=x,
                diagonal=diagonal_of(fd_x),
                batch=case.m,
                batch_axis=self._batch_axis(),
                kink=fd_x.kink,
            )
            if found.signature is None and fd_x.diagonal is not None and out.shape == x.shape:
                # sigma' taken at the output: the elementwise derivative evaluated at a instead of z
                at_output = diagonal_of(finite_diff.vjp(outputs(("arg", 0)), out, dout))
                if at_output is not None and signatures.close(dx, dout * at_output):
                    return signatures.Diagnosis("dx", "sigma_prime_at_a")
            return found

        result = self.verdict(case, tensors, (dx, grads), dx.dtype, diagnose)
        # The forward the finite differences read must answer each point alike whatever it was asked
        # before (``history``): in x, and in each parameter, through which a forward could linearise too.
        what = f"{self.name}.{self.forward}"
        history_agrees(outputs(("arg", 0)), x, what, dtype=precision(out.dtype))
        for path in self.found.parameters:
            history_agrees(outputs(("param", path)), holds[path], what,
                           dtype=precision(out.dtype, holds[path].dtype))
        self.remote.release(layer)
        return result

    def _stale(self, case, x, dout, fd_x, fd, roundoff):
        """Whether the layer's backward is right after a single forward, at x, in a layer built
        afresh: its failure then came from the decoy forward before, whose cache it read."""
        layer = self.build(case.dims, self.found.constructor, self.found.letters, case)
        try:
            self.call_forward(layer, x)
            dx, extras = self.call_backward(layer, x, dout)
            later = self.remote.snapshot(layer, what=f"reading {self.name}'s gradients")
            tensors = [self.judge("dx", dx, fd_x, roundoff)]
            for path in self.found.parameters:
                grad = _gradient(self.found.gradients[path], later, extras, self.name, fd[path].value.shape)
                if grad.shape != fd[path].value.shape:
                    return False
                tensors.append(self.judge(path_text(path), grad, fd[path], roundoff))
        except CandidateFailure:
            return False
        finally:
            self.remote.release(layer)
        return Comparison("finite-diff", tensors).agrees

    def _dx_estimate(self, outputs, x, dout, out, sample, guard):
        """Finite differences of forward in x (with ``guard``, of the loss without the guard)."""
        function = outputs(("arg", 0))
        if guard is not None:
            labels, losses = self._label_indices(), function

            def function(points):
                scores = [self._scores(p) for p in points]
                return guards.unguarded(losses(points).reshape(len(points)), scores, labels, guard)

        return estimate_entries("vjp", function, x, dout, dtype=precision(out.dtype), rng=sample)

    def _gradient_name(self, path):
        where = self.found.gradients.get(path)
        if isinstance(where, tuple) and where and where[0] == "absent":
            return f"{path_text(where[1])} (absent)"
        return path_text(where) if isinstance(where, tuple) else f"d{path_text(path)}"

    def _check_step(self, case, layer, x, dout, fd_x, fd, holds):
        lr = self.lr
        self.call_forward(layer, x)
        dx, _ = self.call_backward(layer, x, dout)
        after = self.remote.snapshot(layer, what=f"reading {self.name}'s parameters after its step")
        roundoff = unit_roundoff(dx.dtype)
        tensors = [self.judge("dx", dx, fd_x, roundoff)]
        for path in self.found.parameters:
            before, now = np.asarray(holds[path], float), np.asarray(after[path], float)
            implied = (before - now) / lr
            # w - lr g and the subtraction back: u (|w| + |w'|) per entry, divided by lr
            extra = unit_roundoff(after[path].dtype) * (np.abs(before) + np.abs(now)) / lr
            tensors.append(
                self.judge(
                    f"d{path_text(path)} (from its step)",
                    implied,
                    fd[path],
                    unit_roundoff(after[path].dtype),
                    extra=extra,
                )
            )
        return self.verdict(
            case,
            tensors,
            (dx, {}),
            dx.dtype,
            lambda name: signatures.diagnose(name, *self._step_tensor(tensors, name), batch=case.m),
        )

    def _step_tensor(self, tensors, name):
        t = next(t for t in tensors if t.name == name)
        return t.candidate_value, t.oracle_value

    def _part(self, tensor):
        if self.style == "step":
            return "step" if "(from its step)" in tensor else "backward"
        return self.part

    def _batch_axis(self):
        letters = self.found.letters
        return letters.index(BATCH) if BATCH in letters else 0

    def _outputs(self, layer, x):
        select = None if self.output_attr is None else ("attr", self.output_attr)

        def for_vary(vary):
            def outputs(points):
                values = self.remote.outputs(
                    layer,
                    self.forward,
                    self._forward_args(x),
                    self.kwargs,
                    vary,
                    points,
                    select=select,
                    what=f"{self.name}.{self.forward} (finite differences)",
                )
                return np.stack([_real_output(v, f"{self.name}.{self.forward}") for v in values])

            return outputs

        return for_vary


def _required(signature):
    """The names of a method's required positional parameters ([] when it has none or is absent)."""
    return [p.name for p in parameters(signature) or [] if p.required]


def _sizelike(name):
    """Whether a constructor argument's name says it is a size (what gradcert can pass)."""
    return (
        name in WIDTH_NAMES
        or name in OUTPUT_NAMES
        or any(
            part in name
            for part in (
                "size",
                "dim",
                "feature",
                "unit",
                "neuron",
                "width",
                "input",
                "output",
                "channel",
                "n_",
                "num_",
                "fan",
            )
        )
    )


def _array_letters(name, layout, inputs=None):
    """The letters of a parameter array named ``name`` for batches in ``layout``, or None.  Beside an
    input of rank 4, (N, C, H, W), a weight is a convolution's filters, (F, C, 3, 3) (Deep Learning from
    Scratch's Convolution(W, b)), and a bias one per filter, (F,)."""
    letters = _ARRAY_ROWS.get(name.lower())
    if inputs is not None and len(inputs) == 4 and name.lower() in _WEIGHT_NAMES + _BIAS_NAMES:
        kernel = str(CONV_KERNEL)
        return ("F", inputs[1], kernel, kernel) if name.lower() in _WEIGHT_NAMES else ("F",)
    if letters is None or layout != "columns":
        return letters
    return letters[::-1] if len(letters) == 2 else letters + ("1",)


def _names_array(key):
    """Whether an --init value under ``key`` is an array when it is a list of numbers (a parameter,
    W1, an RNN's Wx and Wh, or a running statistic); any other list (of sizes, of activation
    names) stays a list."""
    lowered = key.lower()
    return lowered in _ARRAY_ROWS or bool(_STATISTICS.match(lowered)) or bool(_WEIGHT_LIKE.match(lowered))


_WEIGHT_LIKE = re.compile(r"^[wb][a-z]?\d*$")  # Wx, Wh, W1, bx, b2


def _numbers_not_sizes(value):
    """A list that no list of sizes is: rows of numbers (a matrix), or numbers not all whole."""
    if not isinstance(value, list) or not value:
        return False
    flat, rows = value, False
    if all(isinstance(v, list) for v in value):
        flat, rows = [x for v in value for x in v], True
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat)
    return numbers and bool(flat) and (rows or any(isinstance(x, float) and not x.is_integer() for x in flat))


def _as_array(key, value):
    if not isinstance(value, list):
        return value
    try:
        return np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise UsageError(
            f"--init {key}: an array is given as a list of numbers (rows of one length); got {value!r}"
        ) from None


def _is_cache(value, x, out):
    """An array forward stored that is its input or output (or their transpose): a cache, not a parameter."""
    for other in (x, out):
        for candidate in (other, np.transpose(other)):
            if value.shape == candidate.shape and np.array_equal(value, candidate):
                return True
    return False


OUTPUT_ATTRS = ("output", "out", "outputs", "y", "Y", "a", "A", "activation", "activations")  # forward's
DX_ATTRS = (
    "dinputs",
    "d_inputs",
    "dinput",
    "dx",
    "dX",
    "d_x",
    "grad_input",
    "grad_inputs",
    "input_grad",
    "dA_prev",
    "dA",
    "delta",
)  # where a backward that returns nothing keeps dx
TRAINING_NAMES = ("training", "train", "is_training", "train_mode", "train_flg")
# A loss layer's labels, forward(x, t): integer classes drawn below the input's last dimension.
LABEL_NAMES = ("t", "y", "label", "labels", "target", "targets", "y_true", "ts", "ys")
# Constructor arguments that are parameter arrays (Deep Learning from Scratch's Affine(W, b),
# BatchNormalization(gamma, beta)), drawn with these shapes for batches as rows (x W + b): a weight
# (D, M), a bias (M,), a scale or shift (D,).  For columns (W x + b) a weight is (M, D) and the
# others are columns.
ARRAY_NAMES = ("W", "b", "gamma", "beta", "w", "weight", "weights", "kernel", "bias", "biases")
CONV_KERNEL = 3  # the drawn filters' height and width
_WEIGHT_NAMES, _BIAS_NAMES = ("w", "weight", "weights", "kernel"), ("b", "bias", "biases")
_ARRAY_ROWS = {
    **dict.fromkeys(_WEIGHT_NAMES, ("D", "M")),
    **dict.fromkeys(_BIAS_NAMES, ("M",)),
    **dict.fromkeys(("gamma", "beta"), ("D",)),
}
# Other --init values that are arrays when given as lists of numbers: a layer's running statistics.
_STATISTICS = re.compile(r"^(running|moving)_(mean|var|variance|std)$")

# Names of arrays that are state, not parameters: running statistics, caches, masks, constants.
_BUFFER = re.compile(r"running|moving|cache|mask|mean|var|std|eps|momentum|buffer|stat")


def _partner(path, later, before):
    """The path of a parameter's gradient among the arrays backward leaves: d<name> and the rest."""
    shape = later.get(path, before.get(path)).shape if (path in later or path in before) else None
    *head, (step, key) = path
    if step == "a":
        options = [tuple(head) + (("a", n),) for n in _partner_names(key)]
        if key == "data":  # an autodiff-style parameter: its .grad beside its .data
            options.insert(0, tuple(head) + (("a", "grad"),))
    else:
        options = []
        if head and head[0][0] == "a" and len(head) == 1:
            for grads in GRAD_DICTS:  # grads['W'], grads['dW'], grads['grad_W'] beside params['W']
                options += [
                    (("a", grads), (step, key)),
                    (("a", grads), (step, f"d{key}")),
                    (("a", grads), (step, f"grad_{key}")),
                ]
            options.append(tuple(head) + ((step, f"d{key}"),))  # params['W'] with params['dW']
    for option in options:
        if option in later and option != path and (shape is None or later[option].shape == shape):
            return option
    return None


def _partner_names(key):
    """The names a parameter attribute's gradient goes by: dW, d_W, grad_W, W_grad, gW, dw, ..."""
    bare = key.lstrip("_")
    prefix = key[: len(key) - len(bare)]
    return [
        f"{prefix}d{bare}",
        f"{prefix}d_{bare}",
        f"{prefix}grad_{bare}",
        f"{prefix}grad{bare}",
        f"{prefix}{bare}_grad",
        f"{prefix}{bare}grad",
        f"{prefix}g{bare}",
        f"{prefix}delta_{bare}",
        f"{prefix}d{bare.lower()}",
        f"{prefix}grad_{bare.lower()}",
        f"{prefix}d{bare.upper()}",
        f"{prefix}gradient_{bare}",  # the FAU exercises' gradient_weights (a property over _gradient_weights)
        f"_gradient_{bare}",
        f"{prefix}{bare}_gradient",
    ]


def _float_container(value):
    """Floats held in a form that is no NumPy float array: a Python float, a list or tuple of
    numbers with a float among them (a list of ints is sizes, not a parameter)."""
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        try:
            return np.asarray(value).dtype.kind == "f"
        except (ValueError, TypeError):
            return False
    return False


def _numeric(value):
    return _float_container(value) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def _find_path(name, arrays):
    for path in arrays:
        text = path_text(path)
        if name in (text, text.replace("['", ".").replace("']", ""), str(path[-1][1])):
            return path
    return None


def _gradient(where, later, extras, name, shape=None):
    if isinstance(where, tuple) and where and where[0] == "absent":
        return np.zeros(shape)  # never computed: judged as a gradient of zero
    if isinstance(where, int):
        return as_array(extras[where], f"{name}: gradient {where + 1} returned by backward")
    if where not in later:
        raise CandidateFailure("invalid output", f"{name} holds no {path_text(where)} after backward")
    return as_array(later[where], f"{name}.{path_text(where)}")
