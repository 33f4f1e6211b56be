"""Self-check of the zoo (not a test): run ``python tests/zoo/_selfcheck.py``.

Every catalogue entry is compared with central finite differences of a cost
computed by this script's own forward pass, on a few fixed configurations:

* networks: sizes [3, 4, 4, 2] and [2, 3, 1]; ``backprop`` on one column, one
  ``update_mini_batch`` step on m = 3 examples, and whether the caller's
  x, y, weights or biases were changed;
* layers: d/dx of sum(forward(x) * dout) for a random mixed-sign dout;
* functions: a handful of architectures (softmax, tanh, relu, l2, m > 1).

A correct entry must pass everything; a mutant must fail somewhere.
Exit status 0 when both hold.
"""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalogue  # noqa: E402

H = 1e-5  # central differences: truncation ~H^2 * |f'''| ~ 1e-10, rounding ~ eps / H ~ 1e-11
RTOL, ATOL = 1e-6, 1e-9  # per entry; well above both FD errors, well below the 1e-4 mutant


def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


ACT = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
       "linear": lambda z: z, "softmax": softmax}


def cost_of(cost, a, y):
    """Mean over columns of C_x."""
    if cost == "quadratic":
        c = 0.5 * np.sum((a - y) ** 2, axis=0)
    elif cost == "cross-entropy":
        c = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=0)
    else:
        c = -np.sum(y * np.log(a), axis=0)
    return c.mean()


def total_cost(weights, biases, x, y, activations, cost, l2=0.0):
    a = x
    for w, b, name in zip(weights, biases, activations):
        a = ACT[name](w @ a + b)
    return cost_of(cost, a, y) + 0.5 * l2 * sum(np.sum(w * w) for w in weights)


def fd_gradient(f, params):
    """Central differences of f() with respect to every entry of every array in params."""
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + H
            up = f()
            p[idx] = old - H
            down = f()
            p[idx] = old
            g[idx] = (up - down) / (2 * H)
        grads.append(g)
    return grads


def close(got, want):
    got, want = list(got), list(want)
    return len(got) == len(want) and all(
        np.shape(g) == np.shape(w) and np.all(np.abs(np.asarray(g) - w) <= RTOL * np.abs(w) + ATOL)
        for g, w in zip(got, want))


def random_params(rng, sizes):
    weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
    return weights, biases


def check_network(cls, cost, sizes, rng):
    """Returns (gradient right, update right, inputs untouched)."""
    acts = ["sigmoid"] * (len(sizes) - 1)
    weights, biases = random_params(rng, sizes)
    x = rng.standard_normal((sizes[0], 1))
    y = rng.uniform(0.1, 0.9, (sizes[-1], 1))
    saved = [a.copy() for a in weights + biases + [x, y]]

    net = cls(sizes)
    net.weights, net.biases = weights, biases
    nabla_b, nabla_w = net.backprop(x, y)
    untouched = all(np.array_equal(a, s) for a, s in zip(weights + biases + [x, y], saved))

    w0, b0 = [s.copy() for s in saved[:len(weights)]], [s.copy() for s in saved[len(weights):-2]]
    f = lambda: total_cost(w0, b0, saved[-2], saved[-1], acts, cost)  # noqa: E731
    fd = fd_gradient(f, b0 + w0)
    grad_ok = close(nabla_b, fd[:len(b0)]) and close(nabla_w, fd[len(b0):])

    # One SGD step on m = 3 examples: w - (eta / m) * sum_x nabla_w C_x = w - eta * grad of the mean.
    eta, m = 0.5, 3
    xs = rng.standard_normal((sizes[0], m))
    ys = rng.uniform(0.1, 0.9, (sizes[-1], m))
    f = lambda: total_cost(w0, b0, xs, ys, acts, cost)  # noqa: E731
    fd = fd_gradient(f, b0 + w0)
    net = cls(sizes)
    net.weights, net.biases = [w.copy() for w in w0], [b.copy() for b in b0]
    net.update_mini_batch([(xs[:, [j]].copy(), ys[:, [j]].copy()) for j in range(m)], eta)
    want_b = [b - eta * g for b, g in zip(b0, fd[:len(b0)])]
    want_w = [w - eta * g for w, g in zip(w0, fd[len(b0):])]
    update_ok = close(net.biases, want_b) and close(net.weights, want_w)
    return grad_ok, update_ok, untouched


def check_layer(cls, entry, shape, rng):
    n = entry.get("layer_size", shape[0])
    shape = (n, shape[1])
    make = (lambda: cls(n)) if "layer_size" in entry else cls
    x = rng.choice([-1.0, 1.0], shape) * (0.1 + np.abs(rng.standard_normal(shape)))  # away from 0
    dout = rng.standard_normal(shape)
    saved = x.copy(), dout.copy()
    layer = make()
    layer.forward(x)
    dx = layer.backward(dout)
    untouched = np.array_equal(x, saved[0]) and np.array_equal(dout, saved[1])
    xx = saved[0].copy()
    fd = fd_gradient(lambda: np.sum(make().forward(xx.copy()) * saved[1]), [xx])
    return close([dx], fd), True, untouched


FUNCTION_CASES = [  # sizes, activations, cost, l2, m
    ((3, 4, 4, 2), ("sigmoid",) * 3, "quadratic", 0.0, 1),
    ((3, 4, 2), ("tanh", "softmax"), "log-likelihood", 0.1, 3),
    ((2, 3, 3), ("relu", "softmax"), "quadratic", 0.0, 2),
    ((2, 3, 1), ("sigmoid", "sigmoid"), "cross-entropy", 0.05, 3),
    ((3, 4, 2), ("softmax", "linear"), "quadratic", 0.0, 2),
]


def check_function(fn, case, rng):
    sizes, acts, cost, l2, m = case
    arch = SimpleNamespace(sizes=sizes, activations=acts, cost=cost, l2=l2,
                           batch_norm=(False,) * len(acts), modified_neuron=None)
    weights, biases = random_params(rng, sizes)
    x = rng.standard_normal((sizes[0], m))
    if cost == "log-likelihood":
        y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], m)]
    else:
        y = rng.uniform(0.1, 0.9, (sizes[-1], m))
    saved = [a.copy() for a in weights + biases + [x, y]]
    nabla_b, nabla_w = fn(arch, weights, biases, x, y)
    untouched = all(np.array_equal(a, s) for a, s in zip(weights + biases + [x, y], saved))
    w0, b0 = saved[:len(weights)], saved[len(weights):-2]
    fd = fd_gradient(lambda: total_cost(w0, b0, x, y, acts, cost, l2), b0 + w0)
    return close(nabla_b, fd[:len(b0)]) and close(nabla_w, fd[len(b0):]), True, untouched


def run(entry):
    """{configuration label: (gradient ok, update ok, untouched)} for one entry."""
    obj = catalogue.load(entry)
    rng = np.random.default_rng(12345)
    if entry["kind"] == "network":
        return {str(s): check_network(obj, entry["cost"], s, rng) for s in ([3, 4, 4, 2], [2, 3, 1])}
    if entry["kind"] == "layer":
        return {f"x{s}": check_layer(obj, entry, s, rng) for s in ((4, 3), (3, 5))}
    return {f"{c[0]} {'/'.join(c[1])} {c[2]} m={c[4]}": check_function(obj, c, rng)
            for c in FUNCTION_CASES}


def describe(results):
    parts = []
    for label, (grad_ok, update_ok, untouched) in results.items():
        bad = [name for name, ok in (("grad", grad_ok), ("update", update_ok), ("mutates", untouched))
               if not ok]
        parts.append(f"{label}: {'ok' if not bad else 'DIFFERS(' + ','.join(bad) + ')'}")
    return "; ".join(parts)


def main():
    failures = 0
    print("== correct ==")
    for entry in catalogue.CORRECT:
        results = run(entry)
        good = all(all(r) for r in results.values())
        failures += not good
        print(f"{'ok  ' if good else 'FAIL'} {entry['target']}  [{describe(results)}]")
    print("== mutants ==")
    for entry in catalogue.MUTANTS:
        results = run(entry)
        caught = not all(all(r) for r in results.values())
        failures += not caught
        print(f"{'caught' if caught else 'MISSED'} {entry['target']}  [{describe(results)}]")
    print("all as expected" if not failures else f"{failures} unexpected result(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
