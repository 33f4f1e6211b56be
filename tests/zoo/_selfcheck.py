"""Self-check of the zoo (not a test, and independent of gradcert): ``python tests/zoo/_selfcheck.py``.

Every catalogue entry is driven the way its style says and compared with
derivatives this script computes itself, in float64:

* networks and functions: complex-step derivatives (h = 1e-30, exact to
  roundoff) of a cost computed by this script's own forward pass -- sharp
  enough for the 1e-9 mutant; networks on sizes [3, 4, 4, 2], [2, 3, 1] and
  [2, 3, 3, 3]: ``backprop`` on one column, one ``update_mini_batch`` step on
  m = 3 (network2's signature also at lmbda = 0.3, n = 7), and whether x, y,
  weights or biases were changed;
* layers, pairs, models and step-only code: central finite differences of the
  implementation's OWN forward (or loss), sum(forward(x) * dout), with respect
  to the input and to every parameter (a layer's first forward at another input,
  so that its backward must read the last forward's cache); randomness held fixed by re-seeding
  np.random and random and restoring any generator the object holds before
  every forward call; step-only code by (before - after) / learning rate.  A layer's size
  arguments are given by name (nnfs's Layer_Dense(n_inputs, n_neurons)), a layer that asks for
  them gets set_input_shape and initialize(a plain SGD step) (ML-From-Scratch), and an output
  or input gradient kept on the layer (nnfs's self.output, self.dinputs) is read from there;
  parameter arrays a constructor asks for by name (Affine(W, b), BatchNormalization(gamma,
  beta)) are drawn; a loss layer, forward(x, t) with backward(dout=1), is judged against this
  script's own softmax cross-entropy, without the book's log(y + 1e-7) guard; an nnfs loss,
  forward(y_pred, y_true) with backward(dvalues, y_true), against FD of the mean of its losses
  at rows of probabilities;
* Deep Learning from Scratch's models, perturbed in place (their layers hold the parameter
  arrays) against this script's own softmax cross-entropy of predict(x), without the book's
  log(y + 1e-7) guard; deeplearning.ai's L_model_forward / L_model_backward against this
  script's own J.

A correct entry must pass everything; a mutant must fail somewhere; a REFUSED
entry must hold float parameters with no gradient to be found.  Exit status 0
when all three hold.  ``python tests/zoo/_selfcheck.py WORD`` checks only the
entries whose target contains WORD.
"""

import copy
import inspect
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalogue  # noqa: E402

EPS = np.finfo(float).eps
H_COMPLEX = 1e-30  # complex step: f(x + ih) = f(x) + ih f'(x) + O(h^2): no cancellation, any tiny h
# Complex-step and implementation agree to the implementation's roundoff: a few operations per
# layer on widths <= 4, depth <= 3 (measured: at most 2.1 eps for the zoo's networks); 1000 eps
# leaves a wide margin and still sits below the 1e-9 mutant's 2,700-20,000 eps.
RTOL_EXACT = 1e3 * EPS
H_FD = 1e-5  # central differences: truncation ~H^2 |f'''| ~ 1e-10, rounding ~eps |f| / H ~ 1e-10
RTOL_FD = 1e-6  # of the tensor's largest entry: 4 orders above both FD errors, far below any mutant
RTOL_FLOAT32 = 1e-4  # float32 backprop: ~100 float32 eps (6e-8) of accumulated roundoff, with margin
# and an absolute floor: a softmax loss's gradient terms are at most 1 in size, so a float32 sum of
# N <= 4 of them carries ~N * 6e-8 of roundoff even where the sum itself nearly cancels to 0.
ATOL_FLOAT32 = 1e-6
SEED = 1234
SIZES = {"N": 3, "D": 4, "M": 3, "C": 2, "H": 4, "W": 5, "T": 2, "F": 2, "V": 4}  # the letters' drawn values
LR = 0.1

# ---------------------------------------------------------------- shared pieces


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))  # complex-safe


def softmax(z):
    e = np.exp(z - z.real.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


ACT = {"sigmoid": sigmoid, "tanh": np.tanh, "linear": lambda z: z, "softmax": softmax,
       "relu": lambda z: np.where(z.real > 0, z, 0.0),
       "leaky_relu": lambda z: np.where(z.real > 0, z, 0.01 * z),
       "softplus": lambda z: np.log(1.0 + np.exp(z))}


def cost_of(cost, a, y):
    """Mean over the columns of C_x."""
    if cost == "quadratic":
        c = 0.5 * np.sum((a - y) ** 2, axis=0)
    elif cost == "cross-entropy":
        c = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=0)
    else:
        c = -np.sum(y * np.log(a), axis=0)
    return c.mean()


def network_cost(weights, biases, x, y, activations, cost, l2=0.0, batch_norm=None, eps=1e-5):
    a = x
    for i, (w, b, name) in enumerate(zip(weights, biases, activations)):
        z = w @ a + b
        if batch_norm and batch_norm[i]:
            centred = z - z.mean(axis=1, keepdims=True)
            z = centred / np.sqrt(np.mean(centred ** 2, axis=1, keepdims=True) + eps)
        a = ACT[name](z)
    return cost_of(cost, a, y) + 0.5 * l2 * sum(np.sum(w * w) for w in weights)


def complex_gradient(f, params):
    """d f / d p for every entry of every array in params, by the complex step."""
    grads = []
    for p in params:
        g = np.zeros(p.shape)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + 1j * H_COMPLEX
            g[idx] = f().imag / H_COMPLEX
            p[idx] = old
        grads.append(g)
    return grads


def fd_gradient(f, get, put):
    """Central differences of f() with respect to every entry of the array get() returns;
    put(array) installs a perturbed float64 copy, and the original object is put back at the end."""
    original = get()
    base = np.array(original, dtype=float)
    g = np.zeros(base.shape)
    for idx in np.ndindex(base.shape):
        for sign in (1, -1):
            trial = base.copy()
            trial[idx] += sign * H_FD
            put(trial)
            g[idx] += sign * f()
        g[idx] /= 2 * H_FD
    put(original)
    return g


def all_close_exact(got, want):
    """Entry by entry within RTOL_EXACT of the entry, of its tensor's largest entry, and of the
    largest entry of all tensors (a tensor that is exactly 0 in exact arithmetic, such as a bias
    gradient through batch normalisation, comes out as roundoff of the other terms' size)."""
    got, want = [np.asarray(g) for g in got], [np.asarray(w) for w in want]
    if len(got) != len(want):
        return False
    scale = max(np.abs(w).max() for w in want)
    for g, w in zip(got, want):
        if g.shape != w.shape or not np.all(np.isfinite(g)):
            return False
        if not np.all(np.abs(g - w) <= RTOL_EXACT * (np.abs(w) + np.abs(w).max() + scale)):
            return False
    return True


def close_fd(got, want, rtol=RTOL_FD, atol=1e-8):  # atol: FD rounding eps |f| / H <= 1e-9 for |f| <= 10
    if got is None:
        return False
    got, want = np.asarray(got, dtype=float), np.asarray(want)
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    return bool(np.all(np.abs(got - want) <= rtol * np.abs(want).max() + atol))


def describe(results):
    return "; ".join(f"{label}: {'ok' if ok else 'DIFFERS'}" for label, ok in results)


# ---------------------------------------------------------------- networks


def random_params(rng, sizes):
    weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
    return weights, biases


def required_positional(method):
    return [p.name for p in inspect.signature(method).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


BACKPROPS = ("backprop", "backpropagation")  # the names the zoo's ports give network.py's methods
UPDATES = ("update_mini_batch", "update_network", "gradientDescent")


def own_names(net):
    """Where the network keeps its weights and biases: network.py's names, or a port's ws and bs."""
    return ("weights", "biases") if hasattr(net, "weights") else ("ws", "bs")


def own_layout(net, sizes):
    """(transposed, bias shape of n, rows) as the built network holds its parameters: W as (n_out,
    n_in) or (n_in, n_out), b as a column, flat or a row (1, n) -- a network of rows, x (1, n_in)."""
    w_name, b_name = own_names(net)
    transposed = [w.shape for w in getattr(net, w_name)] == [(k, n) for k, n in zip(sizes[:-1], sizes[1:])] \
        and sizes[:-1] != sizes[1:]
    flat = all(np.ndim(b) == 1 for b in getattr(net, b_name))
    rows = [np.shape(b) for b in getattr(net, b_name)] == [(1, n) for n in sizes[1:]] and max(sizes[1:]) > 1
    shape = (lambda n: (n,)) if flat else (lambda n: (1, n)) if rows else (lambda n: (n, 1))
    return transposed, shape, rows


def in_network_order(pair, net):
    """(nabla_b, nabla_w) from backprop's pair, which a port may return as (grad_w, grad_b)."""
    first, second = pair
    w_name, _ = own_names(net)
    weight_shapes = [np.shape(w) for w in getattr(net, w_name)]
    return (second, first) if [np.shape(t) for t in first] == weight_shapes else (first, second)


def check_network(factory, options, sizes, rng):
    cost = options.get("cost", "quadratic")
    acts = ["sigmoid"] * (len(sizes) - 1)
    weights, biases = random_params(rng, sizes)
    x = rng.standard_normal((sizes[0], 1))
    y = rng.uniform(0.1, 0.9, (sizes[-1], 1))
    saved = [a.copy() for a in weights + biases + [x, y]]
    w0, b0 = [s.copy() for s in saved[:len(weights)]], [s.copy() for s in saved[len(weights):-2]]
    results = []

    np.random.seed(SEED)
    net = factory(sizes)
    transposed, bias_shape, rows = own_layout(net, sizes)

    w_name, b_name = own_names(net)

    def install(net, ws, bs):
        setattr(net, w_name, [w.T.copy() if transposed else w for w in ws])
        setattr(net, b_name, [b.reshape(bias_shape(b.shape[0])).copy() for b in bs])

    def held(net):
        return ([np.asarray(w).T if transposed else np.asarray(w) for w in getattr(net, w_name)]
                + [np.asarray(b).reshape(-1, 1) for b in getattr(net, b_name)])

    backprop = next((getattr(net, n) for n in BACKPROPS if callable(getattr(net, n, None))), None)
    if backprop is not None:
        install(net, weights, biases)
        nabla_b, nabla_w = in_network_order(backprop(x.T, y.T) if rows else backprop(x, y), net)
        nabla_b = [np.reshape(nb, (-1, 1)) for nb in nabla_b]
        nabla_w = [np.asarray(nw).T if transposed else nw for nw in nabla_w]
        untouched = all(np.array_equal(a, s) for a, s in zip(held(net) + [x, y], saved))
        cw, cb = [w.astype(complex) for w in w0], [b.astype(complex) for b in b0]
        exact = complex_gradient(lambda: network_cost(cw, cb, saved[-2], saved[-1], acts, cost), cb + cw)
        results.append(("backprop", len(nabla_b) == len(b0)
                        and all_close_exact(list(nabla_b) + list(nabla_w), exact)))
        results.append(("untouched", untouched))

    # One SGD step on m = 3 examples against the gradient of the mean cost.
    eta, m = 0.5, 3
    xs = rng.standard_normal((sizes[0], m))
    ys = rng.uniform(0.1, 0.9, (sizes[-1], m))
    cw, cb = [w.astype(complex) for w in w0], [b.astype(complex) for b in b0]
    exact = complex_gradient(lambda: network_cost(cw, cb, xs, ys, acts, cost), cb + cw)
    grad_b, grad_w = exact[:len(b0)], exact[len(b0):]
    update = next((n for n in UPDATES if callable(getattr(net, n, None))), None)
    if update is None:  # a training loop of its own over whole data sets (SGD(X, y, test_X, test_y))
        return results
    extra = required_positional(getattr(net, update))[2:]
    if not extra:
        settings = [((), 0.0, None)]
    elif extra == ["n"]:  # the training set's size alone: no decay
        settings = [((7,), 0.0, None)]
    else:
        settings = [((0.0, m), 0.0, m), ((0.3, 7), 0.3, 7)]
    for args, lmbda, n in settings:
        np.random.seed(SEED)
        net = factory(sizes)
        install(net, [w.copy() for w in w0], [b.copy() for b in b0])
        try:
            getattr(net, update)([(xs[:, [j]].T.copy(), ys[:, [j]].T.copy()) if rows else
                                  (xs[:, [j]].copy(), ys[:, [j]].copy()) for j in range(m)], eta, *args)
        except Exception as error:  # a step that sums gradients of the wrong shapes, say
            results.append((f"update raised {type(error).__name__}", False))
            continue
        decay = 1 - eta * lmbda / n if n else 1.0
        want_w = [decay * w - eta * g for w, g in zip(w0, grad_w)]
        want_b = [b - eta * g for b, g in zip(b0, grad_b)]
        ok = all_close_exact(held(net), want_w + want_b)
        results.append((f"update{'' if not extra else f'(lmbda={lmbda}, n={n})'}", ok))
    return results


# ---------------------------------------------------------------- shapes and inputs


def draw_shape(spec, default_rows=True):
    letters = (spec or ("N,D" if default_rows else "D,N")).split(",")
    return tuple(int(t) if t.isdigit() else SIZES[t] for t in letters)


def away_from_zero(rng, shape):
    """Entries at least 0.2 from 0, so that ReLU-like kinks sit far outside the FD step."""
    return rng.choice([-1.0, 1.0], shape) * (0.2 + np.abs(rng.standard_normal(shape)))


class RandomnessHeld:
    """Re-seeds the global generators and restores every generator the object holds."""

    KINDS = (np.random.Generator, np.random.RandomState, random.Random)

    def __init__(self, obj):
        self.saved = {k: copy.deepcopy(v) for k, v in vars(obj).items() if isinstance(v, self.KINDS)}
        self.obj = obj

    def __call__(self):
        np.random.seed(SEED)
        random.seed(SEED)
        for k, v in self.saved.items():
            setattr(self.obj, k, copy.deepcopy(v))


# ---------------------------------------------------------------- layers (and step-only layers)

INPUT_NAMES = {"x", "input", "inputs", "X", "a", "bottom", "z"}
LR_NAMES = {"lr", "learning_rate", "eta", "alpha_lr"}


# A constructor's required size arguments, by name: the layer maps D inputs to M outputs.
IN_NAMES = {"n_inputs", "input_size", "n_in", "in_features", "input_dim", "fan_in"}
OUT_NAMES = {"n_neurons", "n_units", "output_size", "n_out", "out_features", "output_dim", "fan_out"}


class PlainSGD:
    """An optimizer in ML-From-Scratch's shape: update(w, grad) -> the stepped w."""

    def __init__(self, lr):
        self.lr = lr

    def update(self, w, grad_wrt_w):
        return w - self.lr * grad_wrt_w


# A constructor's required parameter arrays, by name (Deep Learning from Scratch's Affine(W, b),
# BatchNormalization(gamma, beta)): their shapes for batches as rows, x W + b.
ARRAY_SHAPES = {"W": ("D", "M"), "b": ("M",), "gamma": ("D",), "beta": ("D",)}


def build_layer(cls, options):
    """cls(**init), its required size arguments given by name (D in, M out) and its parameter
    arrays drawn (N(0, 1)); then, for a layer that asks for them (ML-From-Scratch),
    set_input_shape((D,)) and initialize(a plain SGD step)."""
    init = dict(options.get("init", {}))
    arrays = np.random.default_rng(SEED)
    for name in required_positional(cls):
        if name not in init and name in IN_NAMES | OUT_NAMES:
            init[name] = SIZES["D"] if name in IN_NAMES else SIZES["M"]
        elif name not in init and name in ARRAY_SHAPES:
            init[name] = arrays.standard_normal(tuple(SIZES[c] for c in ARRAY_SHAPES[name]))
    layer = cls(**init)
    if callable(getattr(layer, "initialize", None)):
        if callable(getattr(layer, "set_input_shape", None)):
            layer.set_input_shape((SIZES["D"],))
        layer.initialize(PlainSGD(options.get("lr", LR)))
    return layer


def layer_methods(layer):
    """(forward(x, **kwargs) -> out, backward(x, dout, lr) -> dx), each read from where the layer
    leaves it: nnfs's forward(inputs, training) returns nothing and keeps self.output, its backward
    keeps self.dinputs."""
    forward = next(getattr(layer, n) for n in ("forward", "forward_pass", "__call__")
                   if callable(getattr(layer, n, None)))
    backward = next(getattr(layer, n) for n in ("backward", "backward_pass")
                    if callable(getattr(layer, n, None)))
    training = "training" in required_positional(forward)

    def run_forward(x, **kwargs):
        out = forward(x, **({"training": True} if training else {}), **kwargs)
        return layer.output if out is None else out

    names = list(inspect.signature(backward).parameters)
    if len(names) == 1:
        call = lambda x, dout, lr: backward(dout)  # noqa: E731
    elif names[1] in LR_NAMES:
        call = lambda x, dout, lr: backward(dout, lr)  # noqa: E731
    elif names[0] in INPUT_NAMES:
        call = lambda x, dout, lr: backward(x, dout)  # noqa: E731
    else:
        call = lambda x, dout, lr: backward(dout, x)  # noqa: E731

    def run_backward(x, dout, lr):
        dx = call(x, dout, lr)
        return getattr(layer, "dinputs", None) if dx is None else dx

    return run_forward, run_backward


def float_arrays(obj):
    return {k: v for k, v in vars(obj).items()
            if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating)}


def parameter_slots(layer, options):
    """[(name, get, put, get_grad)] for every parameter whose gradient slot can be named."""
    slots = []
    if options.get("params"):
        for pair in options["params"].split(","):
            p, g = pair.split(":")
            slots.append((p, lambda p=p: getattr(layer, p), lambda v, p=p: setattr(layer, p, v),
                          lambda g=g: getattr(layer, g, None)))
        return slots
    for pd, gd in (("params", "grads"), ("parameters", "gradients")):
        if isinstance(getattr(layer, pd, None), dict):
            for k in getattr(layer, pd):
                def grad(k=k, gd=gd):
                    grads = getattr(layer, gd)
                    return grads.get(k, grads.get("d" + k))
                slots.append((f"{pd}[{k!r}]", lambda k=k, pd=pd: getattr(layer, pd)[k],
                              lambda v, k=k, pd=pd: getattr(layer, pd).__setitem__(k, v), grad))
            return slots
    return slots  # attribute partners are found after backward (see attribute_slots)


def attribute_partners(name):
    if name.startswith("_"):
        return ["_d" + name[1:], "_grad" + name, name + "_grad"]
    return ["d" + name, "grad_" + name, name + "_grad"]


def attribute_slots(layer, candidates):
    slots = []
    for name in candidates:
        for partner in attribute_partners(name):
            if isinstance(getattr(layer, partner, None), np.ndarray):
                slots.append((name, lambda n=name: getattr(layer, n), lambda v, n=name: setattr(layer, n, v),
                              lambda p=partner: getattr(layer, p)))
                break
    return slots


LABEL_NAMES = {"t", "y", "labels", "target", "targets"}


def check_loss_layer(cls, rng):
    """A loss layer, forward(x, t) -> the loss, backward() -> dx (Deep Learning from Scratch's
    SoftmaxWithLoss): its loss against this script's own mean softmax cross-entropy (within the
    book's log(y + 1e-7) guard), and dx against FD of that loss, without the guard."""
    layer = cls()
    x = rng.standard_normal((SIZES["N"], SIZES["D"]))
    t = rng.integers(0, SIZES["D"], SIZES["N"])

    def loss(xx):
        z = xx - xx.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(t)), t]))

    got = float(layer.forward(x.copy(), t.copy()))
    dx = layer.backward()
    box = {"x": x.copy()}
    fd = fd_gradient(lambda: loss(box["x"]), lambda: box["x"], lambda v: box.__setitem__("x", v))
    # the guard adds at most 1e-7 / min(y_t) to the loss: a relative 1e-5 at y_t >= 0.01
    return [("loss", abs(got - loss(x)) <= 1e-5 * abs(loss(x)) + 1e-7 / 0.01), ("dx", close_fd(dx, fd))]


def check_nnfs_loss(cls, rng):
    """An nnfs loss, forward(y_pred, y_true) -> per-sample losses, backward(dvalues, y_true) ->
    self.dinputs: dinputs against FD of the MEAN of forward's losses (what calculate returns) in the
    predictions, probability rows; backward given the predictions, or the softmax outputs a combined
    classifier stores in self.output; labels as class indices, one-hot rows where those fail."""
    p = softmax(rng.standard_normal((SIZES["N"], SIZES["D"])).T).T  # rows of probabilities
    indices = rng.integers(0, SIZES["D"], SIZES["N"])
    for t in (indices, np.eye(SIZES["D"])[indices]):
        layer = cls()
        try:
            layer.forward(p.copy(), t.copy())
        except Exception:
            continue
        box = {"p": p.copy()}

        def mean_loss(box=box, t=t):
            return float(np.mean(cls().forward(box["p"].copy(), t.copy())))

        fd = fd_gradient(mean_loss, lambda box=box: box["p"], lambda v, box=box: box.__setitem__("p", v))
        layer.forward(p.copy(), t.copy())
        given = getattr(layer, "output", None)
        given = given if isinstance(given, np.ndarray) and given.shape == p.shape else p
        layer.backward(given.copy(), t.copy())
        return [("dinputs", close_fd(layer.dinputs, fd))]
    return [("forward runs on neither labels", False)]


def check_layer(cls, options, step, rng):
    """[(label, ok)]: dx and every parameter gradient against FD of the layer's own forward."""
    np.random.seed(SEED)
    random.seed(SEED)
    layer = build_layer(cls, options)
    held = RandomnessHeld(layer)
    at_construction = set(float_arrays(layer))
    forward, backward = layer_methods(layer)
    kwargs = options.get("kwargs", {})
    x = away_from_zero(rng, draw_shape(options.get("shape"), options.get("layout") != "columns"))
    x_saved = x.copy()

    held()  # a forward at another input first: a backward must read the last forward's cache
    forward(away_from_zero(np.random.default_rng(SEED + 1), x.shape), **kwargs)
    held()
    out = np.asarray(forward(x.copy(), **kwargs))
    dout = rng.standard_normal(out.shape)

    def f(xx=None):
        held()
        return float(np.sum(forward((x_saved if xx is None else xx).copy(), **kwargs) * dout))

    box = {"x": x_saved.copy()}
    fd_x = fd_gradient(lambda: f(box["x"]), lambda: box["x"], lambda v: box.__setitem__("x", v))
    slots = parameter_slots(layer, options)
    # Without a params/grads dict, every float attribute that exists after one forward is a
    # candidate (cached arrays too: their FD is 0 and they have no partner, so they drop out),
    # but for the cached input itself, whose partner may be the input's gradient (nnfs's
    # self.inputs beside self.dinputs), seen after a forward at x.
    f()
    candidates = [k for k, v in float_arrays(layer).items()
                  if not (v.shape == x_saved.shape and np.array_equal(v, x_saved))]
    names = [k for k in candidates if k in at_construction] if step else candidates
    fd_params = {}
    for name, get, put, _ in ([] if step else slots):
        fd_params[name] = fd_gradient(f, get, put)
    if step or not slots:
        for k in names:
            fd_params[k] = fd_gradient(f, lambda k=k: getattr(layer, k), lambda v, k=k: setattr(layer, k, v))
    before = {k: getattr(layer, k).copy() for k in names} if step else {}

    held()
    forward(x.copy(), **kwargs)
    lr = options.get("lr", LR)
    dx = backward(x.copy(), dout.copy(), lr)
    results = [("dx", close_fd(dx, fd_x)), ("x untouched", np.array_equal(x, x_saved))]
    if step:
        for k in fd_params:
            results.append((f"step {k}", close_fd((before[k] - getattr(layer, k)) / lr, fd_params[k])))
        return results
    if not slots:
        slots = attribute_slots(layer, candidates)
        found = {s[0] for s in slots}
        partners = {p for k in found for p in attribute_partners(k)}
        missing = [k for k in at_construction if k not in found and k not in partners
                   and np.abs(fd_params[k]).max() > 0]  # running statistics and cached arrays drop out
        results += [(f"no gradient for {k}", False) for k in missing]
    for name, _, _, get_grad in slots:
        results.append((name, close_fd(get_grad(), fd_params[name])))
    return results


def refused_layer(cls, options, rng):
    """The float parameters (present at construction) for which no gradient can be found."""
    np.random.seed(SEED)
    layer = build_layer(cls, options)
    params = list(float_arrays(layer))
    forward, backward = layer_methods(layer)
    x = away_from_zero(rng, draw_shape(options.get("shape")))
    out = forward(x)
    backward(x, np.ones_like(out), LR)
    found = {s[0] for s in attribute_slots(layer, params) + parameter_slots(layer, options)}
    return [k for k in params if k not in found]


# ---------------------------------------------------------------- pairs


def parse_inputs(spec):
    return [(name, shape) for name, shape in (item.split("=") for item in spec.split())]


def check_loss_function(fn, rng):
    """A function returning (loss, grad): its arguments made from their names (cs231n's W, X, y,
    reg; Coursera's theta or nn_params with the layer sizes, X, y, lambda_), its gradient compared
    with central differences of its own loss along the parameters (or the scores)."""
    D, H, K, N, C = 3, 4, 3, 5, 3
    params = list(inspect.signature(fn).parameters)
    sizes = {"input": D, "hidden": H, "label": K}
    args, judged = {}, None
    unrolled = any(any(w in p.lower() for w in sizes) for p in params)
    for p in params:
        lowered = p.lower()
        if p in ("theta", "nn_params"):
            args[p] = rng.standard_normal(H * (D + 1) + K * (H + 1) if unrolled else D)
            judged = p
        elif p in ("W",):
            args[p] = rng.standard_normal((D, C))
            judged = p
        elif p in ("X", "x"):
            wide = "W" in params or "theta" in params or "nn_params" in params
            args[p] = rng.standard_normal((N, D) if wide else (N, C))
            judged = judged or p
        elif p == "y":
            classes = K if unrolled else C if "W" in params or "x" in params else 2
            args[p] = rng.integers(1 if unrolled else 0, classes, N)
        elif "lambda" in lowered or lowered == "reg":
            args[p] = 0.1
        else:
            args[p] = next(v for w, v in sizes.items() if w in lowered)

    box = [args[judged].copy()]
    _, grad = fn(**copy.deepcopy(args))
    fd = fd_gradient(lambda: float(fn(**{**copy.deepcopy(args), judged: box[0].copy()})[0]),
                     lambda: box[0], lambda v: box.__setitem__(0, v))
    return [(f"d{judged}", close_fd(np.reshape(grad, box[0].shape), fd))]


def check_pair(pair, options, rng):
    forward, backward = pair
    if forward is backward:  # a loss function: (loss, grad) in one
        return check_loss_function(forward, rng)
    inputs = []
    for name, shape in parse_inputs(options["inputs"]):
        letters, _, bound = shape.partition(":int<")  # word indices: N * T = 6 of them below V = 4 repeat
        inputs.append((name, rng.integers(0, draw_shape(bound)[0], draw_shape(letters)) if bound
                       else away_from_zero(rng, draw_shape(shape))))
    floats = [i for i, (_, a) in enumerate(inputs) if a.dtype.kind == "f"]  # integers have no gradient
    kwargs = options.get("kwargs", {})
    arrays = [a for _, a in inputs]
    saved = [a.copy() for a in arrays]

    def run(args):
        np.random.seed(SEED)
        random.seed(SEED)
        return forward(*[a.copy() for a in args], **copy.deepcopy(kwargs))

    out, _ = run(arrays)
    dout = rng.standard_normal(np.shape(out))
    results = []
    fds = []
    box = [a.copy() for a in arrays]  # fd_gradient puts each input back when it is done with it
    for i in floats:
        fds.append(fd_gradient(lambda: float(np.sum(run(box)[0] * dout)), lambda i=i: box[i],
                               lambda v, i=i: box.__setitem__(i, v)))
    _, cache = run(arrays)
    # keyword arguments go to backward too where it takes them by name (deeplearning.ai's activation)
    accepted = inspect.signature(backward).parameters
    grads = backward(dout.copy(), cache, **{k: v for k, v in kwargs.items() if k in accepted})
    grads = grads if isinstance(grads, tuple) else (grads,)
    results.append(("count", len(grads) == len(floats)))
    for (name, _), g, fd in zip([inputs[i] for i in floats], grads, fds):
        results.append((f"d{name}", close_fd(g, fd)))
    results.append(("untouched", all(np.array_equal(a, s) for a, s in zip(arrays, saved))))
    return results


# ---------------------------------------------------------------- models


# A Deep Learning from Scratch model's required sizes, by name.
MODEL_SIZES = {"input_size": 4, "hidden_size": 3, "hidden_size_list": [3, 3], "output_size": 3}


def fd_in_place(f, array):
    """Central differences of f() with respect to every entry of ``array``, perturbed in place (a
    model whose layers hold its parameter arrays sees only an in-place change), put back after."""
    base = array.copy()
    g = np.zeros(base.shape)
    for idx in np.ndindex(base.shape):
        for sign in (1, -1):
            array[idx] = base[idx] + sign * H_FD
            g[idx] += sign * f()
        array[idx] = base[idx]
        g[idx] /= 2 * H_FD
    return g


def check_dlfs_model(cls, options, rng):
    """Deep Learning from Scratch's loss(x, t) and gradient(x, t) -> grads over its params dict."""
    init = {**{k: v for k, v in MODEL_SIZES.items() if k in required_positional(cls)}, **options.get("init", {})}
    np.random.seed(SEED)
    model = cls(**init)
    for v in model.params.values():  # the book's 0.01 scale is too small for FD to resolve: N(0, 1)
        v[...] = rng.standard_normal(v.shape)
    x = rng.standard_normal((5, init["input_size"]))
    t = rng.integers(0, init["output_size"], 5)
    grads = model.gradient(x.copy(), t.copy())
    grads = {k: np.array(v, dtype=float) for k, v in grads.items()}
    decay = getattr(model, "weight_decay_lambda", 0.0)

    def loss():
        """The mean softmax cross-entropy of predict(x), computed here without the book's guard
        log(y + 1e-7) (whose gradient is not the loss's), plus the decay 0.5 lambda sum W^2."""
        scores = model.predict(x.copy())
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        penalty = 0.5 * decay * sum(np.sum(v * v) for k, v in model.params.items() if k.startswith("W"))
        return float(-np.mean(log_p[np.arange(len(t)), t]) + penalty)

    results = [("same keys", set(grads) == set(model.params))]
    for k, v in model.params.items():
        fd = fd_in_place(loss, v)
        results.append((k, close_fd(grads.get(k), fd)))
    return results


def check_dlai_model(module, name, rng):
    """deeplearning.ai's NAME_forward(X, parameters) -> (AL, caches) and NAME_backward(AL, Y, caches)
    -> grads: dW<l>, db<l> against FD of J = -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)), computed here."""
    forward, backward = getattr(module, name + "_forward"), getattr(module, name + "_backward")
    sizes, m = [4, 3, 3, 1], 5
    params = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = rng.standard_normal((n_out, n_in))
        params[f"b{l}"] = away_from_zero(rng, (n_out, 1))
    X = rng.standard_normal((sizes[0], m))
    Y = rng.integers(0, 2, (1, m)).astype(float)

    def cost():
        AL, _ = forward(X.copy(), {k: v.copy() for k, v in params.items()})
        return float(-np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)))

    AL, caches = forward(X.copy(), {k: v.copy() for k, v in params.items()})
    grads = backward(AL, Y.copy(), caches)
    return [(f"d{k}", close_fd(grads.get("d" + k), fd_in_place(cost, v))) for k, v in params.items()]


def check_model(cls, options, rng):
    if callable(getattr(cls, "gradient", None)):
        return check_dlfs_model(cls, options, rng)
    init = options.get("init", {})
    np.random.seed(SEED)
    model = cls(**init)
    X = rng.standard_normal(draw_shape(options["shape"])).astype(np.float32).astype(float)
    scores = model.loss(X)
    y = rng.integers(0, scores.shape[1], X.shape[0])
    loss, grads = model.loss(X, y)
    low = any(v.dtype == np.float32 for v in model.params.values())
    judge = model
    if low:  # differentiate a float64 twin at the same (float32-valued) parameters
        judge = cls(**{**init, "dtype": "float64"})
        judge.params = {k: v.astype(float) for k, v in model.params.items()}
    results = [("same keys", set(grads) == set(model.params))]
    for k in model.params:
        fd = fd_gradient(lambda: float(judge.loss(X, y)[0]), lambda k=k: judge.params[k],
                         lambda v, k=k: judge.params.__setitem__(k, v))
        results.append((k, close_fd(grads.get(k), fd, *((RTOL_FLOAT32, ATOL_FLOAT32) if low else ()))))
    return results


# ---------------------------------------------------------------- functions

FUNCTION_CASES = [  # sizes, activations, cost, l2, m, batch_norm
    ((3, 4, 4, 2), ("sigmoid",) * 3, "quadratic", 0.0, 1, None),
    ((3, 4, 2), ("tanh", "softmax"), "log-likelihood", 0.1, 3, None),
    ((2, 3, 3), ("relu", "softmax"), "quadratic", 0.0, 2, None),
    ((2, 3, 1), ("sigmoid", "sigmoid"), "cross-entropy", 0.05, 3, None),
    ((3, 4, 2), ("softmax", "linear"), "quadratic", 0.0, 2, None),
    ((2, 4, 3, 3), ("tanh", "tanh", "softmax"), "quadratic", 0.0, 3, None),
    ((2, 3, 4, 2), ("tanh", "tanh", "softmax"), "cross-entropy", 0.2, 2, None),
]
BN_CASES = [
    ((3, 4, 2), ("sigmoid", "sigmoid"), "quadratic", 0.0, 4, (True, False)),
    ((3, 4, 4, 2), ("tanh", "leaky_relu", "softmax"), "log-likelihood", 0.1, 3, (True, True, False)),
    ((2, 3, 2), ("softplus", "sigmoid"), "cross-entropy", 0.0, 5, (True, True)),
]


def function_cases(options):
    if "sizes" in options:
        sizes, flags = tuple(options["sizes"]), tuple(options.get("batch_norm") or ())
        return [(sizes, ("sigmoid",) * (len(sizes) - 2) + ("softmax",), "log-likelihood", 0.0, 4, flags),
                (sizes, ("tanh",) * (len(sizes) - 1), "quadratic", 0.05, 3, flags)]
    cases = FUNCTION_CASES + (BN_CASES if options.get("batch_norm") else [])
    hidden, output = options.get("hidden_activation"), options.get("output_activation")
    return [c for c in cases if (hidden is None or set(c[1][:-1]) <= {hidden})
            and (output is None or c[1][-1] == output)]


def check_function(fn, case, rng):
    sizes, acts, cost, l2, m, flags = case
    flags = flags or (False,) * len(acts)
    arch = SimpleNamespace(sizes=sizes, activations=acts, cost=cost, l2=l2, batch_norm=flags,
                           modified_neuron=None, bn_epsilon=1e-5, leaky_slope=0.01)
    weights, biases = random_params(rng, sizes)
    x = rng.standard_normal((sizes[0], m))
    if cost == "log-likelihood":
        y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], m)]
    else:
        y = rng.uniform(0.1, 0.9, (sizes[-1], m))
    saved = [a.copy() for a in weights + biases + [x, y]]
    try:
        nabla_b, nabla_w = fn(arch, weights, biases, x, y)
    except NotImplementedError:
        return None
    untouched = all(np.array_equal(a, s) for a, s in zip(weights + biases + [x, y], saved))
    cw = [w.astype(complex) for w in saved[:len(weights)]]
    cb = [b.astype(complex) for b in saved[len(weights):-2]]
    exact = complex_gradient(lambda: network_cost(cw, cb, x, y, acts, cost, l2, flags), cb + cw)
    ok = len(nabla_b) == len(biases) and all_close_exact(list(nabla_b) + list(nabla_w), exact)
    return ok and untouched


# ---------------------------------------------------------------- autodiff engines

# Hand-written programs over an engine's values: (name, program(V, leaves) -> output, the same
# program on complex numbers).  Each uses every value more than once somewhere, so an assigned
# (not accumulated) gradient shows, and reaches a leaf along two paths, so an untidy visiting order
# shows.
import cmath  # noqa: E402

ENGINE_PROGRAMS = [
    ("a * b + a", lambda a, b: a * b + a, lambda a, b: a * b + a),
    ("(a + b) * (a + b)", lambda a, b: (a + b) * (a + b), lambda a, b: (a + b) * (a + b)),
    ("tanh(a * b) * a", lambda a, b: (a * b).tanh() * a, lambda a, b: cmath.tanh(a * b) * a),
    ("exp(a) / b - 2", lambda a, b: a.exp() / b - 2.0, lambda a, b: cmath.exp(a) / b - 2.0),
    ("(a ** 3 + b) ** 2", lambda a, b: (a**3 + b) ** 2, lambda a, b: (a**3 + b) ** 2),
    ("2 - a * a * b", lambda a, b: 2.0 - a * a * b, lambda a, b: 2.0 - a * a * b),
    ("c * c + c + c * b, c = a * b", lambda a, b: (lambda c: c * c + c + c * b)(a * b),
     lambda a, b: (lambda c: c * c + c + c * b)(a * b)),
]


def check_engine(cls):
    """Each program's leaf gradients against its complex-step derivatives (relative RTOL_EXACT)."""
    results = []
    # torch's habit: only a leaf made with requires_grad=True gets a gradient
    kwargs = {"requires_grad": True} if "requires_grad" in inspect.signature(cls).parameters else {}
    for name, program, on_complex in ENGINE_PROGRAMS:
        a, b = 0.7, -1.3
        try:
            leaves = [cls(a, **kwargs), cls(b, **kwargs)]
        except TypeError:  # an engine of arrays only
            leaves = [cls(np.array(a), **kwargs), cls(np.array(b), **kwargs)]
        program(*leaves).backward()
        # a grad kept as a value of the engine's own class holds its number in .data (Torch-Kutti)
        got = [float(np.asarray(getattr(v.grad, "data", v.grad))) for v in leaves]
        single = np.asarray(leaves[0].data).dtype == np.float32
        exact = [on_complex(a + 1j * H_COMPLEX, b).imag / H_COMPLEX, on_complex(a, b + 1j * H_COMPLEX).imag / H_COMPLEX]
        scale = max(1.0, *map(abs, exact))
        rtol = RTOL_FLOAT32 if single else RTOL_EXACT
        results.append((name, all(abs(g - e) <= rtol * scale for g, e in zip(got, exact))))
    return results


# ---------------------------------------------------------------- driver


def run(entry):
    """[(label, ok)] for one entry."""
    options, style = entry["options"], entry["style"]
    rng = np.random.default_rng(12345)
    module_part, name = entry["target"].rsplit(":", 1)
    if style == "model" and module_part.endswith(".py"):  # deeplearning.ai's NAME_forward, NAME_backward
        module = catalogue._import(module_part)
        if not hasattr(module, name) and hasattr(module, name + "_forward"):
            return check_dlai_model(module, name, rng)
    obj = catalogue.load(entry)
    if style == "network" or (style == "step" and not any(hasattr(obj, n) for n in ("forward", "forward_pass"))):
        return [(f"{s} {label}", ok) for s in ([3, 4, 4, 2], [2, 3, 1], [2, 3, 3, 3])
                for label, ok in check_network(obj, options, s, rng)]
    forward = [n for n in required_positional(obj.forward) if n != "self"] if hasattr(obj, "forward") else []
    backward = [n for n in required_positional(obj.backward) if n != "self"] if hasattr(obj, "backward") else []
    if style == "layer" and len(forward) == 2 and len(backward) == 2 and backward[1] == forward[1] == "y_true":
        return check_nnfs_loss(obj, rng)
    if style == "layer" and len(forward) == 2 and forward[1] in LABEL_NAMES:
        return check_loss_layer(obj, rng)
    if style in ("layer", "step"):
        return check_layer(obj, options, style == "step", rng)
    if style == "engine":
        return check_engine(obj)
    if style == "pair":
        return check_pair(obj, options, rng)
    if style == "model":
        return check_model(obj, options, rng)
    results = []
    for case in function_cases(options):
        ok = check_function(obj, case, rng)
        label = f"{case[0]} {'/'.join(case[1])} {case[2]} m={case[4]}{' bn' if case[5] else ''}"
        if ok is not None:
            results.append((label, ok))
    return results or [("every case declined", False)]


def main(word=""):
    failures = 0
    counts = {}
    for title, entries, expect in (("correct", catalogue.CORRECT, True), ("mutants", catalogue.MUTANTS, False)):
        print(f"== {title} ==")
        for e in entries:
            if word not in e["target"]:
                continue
            try:
                results = run(e)
            except Exception as error:  # a crash counts as caught for a mutant, a failure for a correct one
                results = [(f"raised {type(error).__name__}: {error}", False)]
            good = all(ok for _, ok in results)
            failures += good != expect
            counts.setdefault(e["style"], [0, 0])[0 if expect else 1] += 1
            mark = ("ok  " if good else "FAIL") if expect else ("caught" if not good else "MISSED")
            print(f"{mark} {e['target']}  [{describe(results)}]")
    print("== refused ==")
    for e in catalogue.REFUSED:
        if word not in e["target"]:
            continue
        hidden = refused_layer(catalogue.load(e), e["options"], np.random.default_rng(0))
        good = sorted(hidden) == sorted(e["words"])
        failures += not good
        print(f"{'ok  ' if good else 'FAIL'} {e['target']}  [no gradient found for {hidden}]")
    print("per style (correct, mutants):", {k: tuple(v) for k, v in sorted(counts.items())})
    print("all as expected" if not failures else f"{failures} unexpected result(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
