"""Probe of the hostile zoo (not a test, and independent of gradcert): ``python tests/hostile/_probe.py``.

Each candidate of expected.HOSTILE is driven once, the way its style says, in
a child process of its own session, with a 6 s deadline after which the whole
process group is killed.  The child records every stage it enters (import,
construction, weights, backprop, conversion, update, ...) in a file, so the
probe knows how the child ended and where.  What it saw is mapped to the
verdict vocabulary and compared with the entry's: a candidate said to exit
must really end its process, one said to hang must really outlast the
deadline, one said to be certified must return the right gradient (checked
against _base.gradient at the candidate's own precision), twice alike.  A loss, a pair or a
model (history.py) is judged by central differences of its own value, each probe asked right
after a far point (so no history reaches it): one said to be non-deterministic must answer a
point differently after the centre than after the far point, one said to be cannot check must
be constant with a zero gradient; a layer's forward is asked a point right after x and right after a far
point.  An engine is driven on d = (a b + a)^2 at leaves of full precision (a float, else a 0-d array;
neither: "usage error"), its numbers read without running a float subclass's own methods, its leaves'
data required unchanged by backward.
Exit status 0 when every candidate behaves as its entry says.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from hostile.expected import HOSTILE  # noqa: E402

DEADLINE = 6.0  # seconds: every hang in the zoo lasts 60 s, every honest call well under 1 s

CHILD = r'''
import importlib, json, os, sys
from types import SimpleNamespace
root, target, style, out, sizes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
sys.path.insert(0, os.path.join(root, "tests"))
import numpy as np
from hostile import _base

def report(**record):  # opened anew each time: the candidate may have closed every descriptor
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, (json.dumps(record) + "\n").encode())
    os.close(fd)

def stage(name):
    report(stage=name, pid=os.getpid())

def finish(result):
    try:
        os.fstat(1)
        result["descriptors"] = True
    except OSError:
        result["descriptors"] = False
    report(done=result, pid=os.getpid())
    os._exit(0)  # threads the candidate left running do not hold the probe

def arrays(pair):
    """The returned (nabla_b, nabla_w) as two lists of arrays; anything else is invalid output."""
    stage("conversion")
    try:
        nabla_b, nabla_w = pair
        return [np.asarray(a) for a in nabla_b], [np.asarray(a) for a in nabla_w]
    except (TypeError, ValueError):
        finish({"valid": False})

def valid(got, want):
    return len(got) == len(want) and all(
        g.shape == w.shape and g.dtype.kind == "f" and bool(np.all(np.isfinite(g)))
        for g, w in zip(got, want))

def close(got, want):
    tol = {2: 2e-3, 4: 1e-5}.get(got.dtype.itemsize, 1e-10)  # float16, float32, else float64 or wider
    return bool(np.all(np.abs(got.astype(float) - want) <= tol * (np.abs(want).max() + 1e-3)))

path, name = target.split(":")
stage("import")
module = importlib.import_module(path.replace("tests/", "").removesuffix(".py").replace("/", "."))
obj = getattr(module, name, None)  # a pair is named by its stem
rng = np.random.default_rng(0)
result = {}
try:
    if style == "network":
        np.random.seed(0)
        stage("construction")
        net = obj(sizes)
        weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
        biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        stage("weights")
        net.weights, net.biases = weights, biases
        held_w = [np.asarray(w, dtype=float) for w in net.weights]  # what the candidate kept
        held_b = [np.asarray(b, dtype=float) for b in net.biases]
        x, y = rng.standard_normal((sizes[0], 1)), rng.uniform(0.1, 0.9, (sizes[-1], 1))
        want = _base.gradient(held_w, held_b, x, y)
        stage("backprop")
        got = arrays(net.backprop(x, y))
        if not valid(got[0] + got[1], want[0] + want[1]):
            finish({"valid": False})
        stage("backprop again")
        again = arrays(net.backprop(x, y))
        result["valid"] = True
        result["right"] = all(close(g, w) for g, w in zip(got[0] + got[1], want[0] + want[1]))
        result["deterministic"] = all(np.array_equal(g, a)
                                      for g, a in zip(got[0] + got[1], again[0] + again[1]))
        stage("update_mini_batch")
        net.update_mini_batch([(x, y)], 0.1)
        stage("weights read")
        list(net.weights)
    elif style == "layer":
        layer = obj()
        x = rng.standard_normal((3, 4))
        stage("forward")
        out_ = np.asarray(layer.forward(x))
        result["valid"] = out_.shape == x.shape and out_.dtype.kind == "f" and bool(np.all(np.isfinite(out_)))
        dout = rng.standard_normal(x.shape)
        stage("backward")
        dx = np.asarray(layer.backward(dout))
        result["right"] = bool(np.allclose(dx, dout * (1 - np.tanh(x) ** 2), rtol=1e-10, atol=1e-12))
        # its forward at a point one step from x, asked right after x and right after a far point
        probe = x.copy()
        probe.flat[0] += 1e-6
        layer.forward(x.copy())
        after_x = np.asarray(layer.forward(probe.copy()), dtype=float)
        layer.forward(-x - 1.0)
        after_far = np.asarray(layer.forward(probe.copy()), dtype=float)
        result["deterministic"] = bool(np.allclose(after_x, after_far, rtol=1e-12, atol=0.0))
    elif style == "engine":
        # d = (a b + a)^2 at leaves of full precision: dd/da = 2 (a b + a)(b + 1), dd/db = 2 (a b + a) a
        a0, b0 = 0.7312945, -1.2871313
        stage("construction")
        try:
            a, b = obj(a0), obj(b0)
        except Exception:
            try:
                a, b = obj(np.array(a0)), obj(np.array(b0))
            except Exception:
                finish({"usage": True})
        stage("forward")
        c = a * b + a
        d = c * c
        if hasattr(a, "tanh") and not isinstance(a.tanh(), type(a)):  # a method that leaves the engine
            finish({"valid": False})
        stage("backward")
        try:
            d.backward()
        except TypeError:  # backward(grad): the output's seed
            d.backward(1.0)
        stage("grad read")

        def number(v):  # a float subclass read as the float it holds, never through its own methods
            if type(v) is not float and isinstance(v, float) and type(v).__mro__[1:2] == (float,):
                return float.__float__(v)
            if type(v) is float or isinstance(v, (int, np.floating, np.ndarray)):
                return float(np.asarray(v, dtype=float))
            raise TypeError(repr(v))  # what it is, as a report would say it

        try:
            grads = [number(a.grad), number(b.grad)]
            data = [number(a.data), number(b.data), number(d.data)]
        except (TypeError, ValueError):
            finish({"valid": False})
        stage("data read")
        cv = a0 * b0 + a0
        want = [2 * cv * (b0 + 1), 2 * cv * a0]
        result["valid"] = bool(all(np.isfinite(grads + data)))
        result["mutated"] = data[:2] != [a0, b0]
        result["deterministic"] = True
        result["right"] = bool(np.allclose(grads, want, rtol=1e-12, atol=0.0)
                               and np.isclose(data[2], cv * cv, rtol=1e-12, atol=0.0))
    elif style == "function":
        L = len(sizes) - 1
        arch = SimpleNamespace(sizes=tuple(sizes), activations=("sigmoid",) * L, cost="quadratic", l2=0.0,
                               batch_norm=(False,) * L, modified_neuron=None)
        weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
        biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        x, y = rng.standard_normal((sizes[0], 3)), rng.uniform(0.1, 0.9, (sizes[-1], 3))
        want = _base.gradient(weights, biases, x, y)
        stage("grad")
        got = arrays(obj(arch, weights, biases, x, y))
        result["valid"] = valid(got[0] + got[1], want[0] + want[1])
        result["right"] = result["valid"] and all(close(g, w)
                                                  for g, w in zip(got[0] + got[1], want[0] + want[1]))
        result["deterministic"] = True
    elif style in ("loss", "pair", "model"):
        # f(point) -> (value, gradient along point): the value of a scalar the gradient is of
        N, D, C = 4, 3, 3
        X, labels = rng.standard_normal((N, D)), rng.integers(0, 2, N)
        if name == "lrCostFunction":
            centre = rng.standard_normal(D)
            def f(p):
                return obj(p.copy(), X, labels.astype(float), 0.1)
        elif style == "loss" and name.startswith("svm"):
            centre = rng.standard_normal((D, C))
            def f(p):
                return obj(p.copy(), X, labels, 0.1)
        elif style == "loss":
            centre = rng.standard_normal((N, C))
            def f(p):
                return obj(p.copy(), labels)
        elif style == "pair":
            forward, backward = getattr(module, name + "_forward"), getattr(module, name + "_backward")
            w, b, dout = rng.standard_normal((D, C)), rng.standard_normal(C), rng.standard_normal((N, C))
            centre = X.copy()
            def f(p):
                out, cache = forward(p.copy(), w, b)
                return float(np.sum(out * dout)), backward(dout, cache)[0]
        else:
            model = obj(D, C)
            centre = rng.standard_normal(model.params["W"].shape)
            def f(p):
                model.params["W"][...] = p
                loss, grads = model.loss(X, labels)
                return loss, grads["W"]
        far = -centre - 1.0
        def fresh(p):  # the value at p with any history wiped by a far point first
            f(far)
            return float(f(p)[0])
        stage("call")
        value, got = f(centre)
        got = np.asarray(got, dtype=float).reshape(centre.shape)
        h, want = 1e-6, np.zeros(centre.shape)
        for i in np.ndindex(centre.shape):
            up, down = centre.copy(), centre.copy()
            up[i] += h
            down[i] -= h
            want[i] = (fresh(up) - fresh(down)) / (2 * h)
        f(centre)
        probe = centre.copy()
        probe.flat[0] += h
        after_centre = float(f(probe)[0])
        result["valid"] = bool(np.all(np.isfinite(got)))
        result["deterministic"] = abs(after_centre - fresh(probe)) <= 1e-12 * max(1.0, abs(after_centre))
        result["constant"] = not np.any(want) and not np.any(got) and fresh(far + 1.0) == float(value)
        result["right"] = bool(np.allclose(got, want, rtol=1e-5, atol=1e-7))
except SystemExit:
    raise
except BaseException as error:
    report(exception=type(error).__name__, pid=os.getpid())
    os._exit(0)
finish(result)
'''


def observe(entry):
    """(verdict the probe infers, stage reached, seconds)."""
    sizes = entry["options"].get("sizes", [3, 2, 1])
    with tempfile.TemporaryDirectory(prefix="gradcert-probe-") as scratch:
        out = os.path.join(scratch, "records")
        start = time.monotonic()
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), entry["target"], entry["style"],
                                  out, json.dumps(sizes)], cwd=scratch, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            code = child.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.monotonic() - start
        try:
            os.killpg(child.pid, signal.SIGKILL)  # our own child's group: whatever it left behind
        except ProcessLookupError:
            pass
        child.wait()
        lines = Path(out).read_text().splitlines() if Path(out).exists() else []
        records = [json.loads(line) for line in lines]
    stages = [r["stage"] for r in records if "stage" in r and r.get("pid") == child.pid]
    where = stages[-1] if stages else "start"
    done = [r["done"] for r in records if "done" in r and r.get("pid") == child.pid]
    raised = [r["exception"] for r in records if "exception" in r and r.get("pid") == child.pid]
    if code is None:
        return "timed out", where, seconds
    if code < 0:
        return f"killed ({signal.Signals(-code).name})", where, seconds
    if raised:
        return f"crashed ({raised[0]})", where, seconds
    if not done:
        return "exited", where, seconds
    result = done[0]
    if not result.get("descriptors", True):
        return "exited (closed its descriptors)", where, seconds
    if result.get("usage"):
        return "usage error", where, seconds
    if not result.get("valid"):
        return "invalid output", where, seconds
    if result.get("mutated"):
        return "mutated inputs", where, seconds
    if not result.get("deterministic"):
        return "non-deterministic", where, seconds
    if result.get("constant"):
        return "cannot check", where, seconds
    if not result.get("right"):
        return "gradient bug", where, seconds
    return "certified", where, seconds


def main():
    failures = 0
    for entry in HOSTILE:
        if entry["style"] is None:
            continue  # usage errors: nothing to run
        seen, where, seconds = observe(entry)
        good = seen.split(" (")[0] == entry["verdict"]
        failures += not good
        print(f"{'ok  ' if good else 'FAIL'} {entry['target']:<48} expected {entry['verdict']:<17} "
              f"saw {seen} at {where} ({seconds:.1f} s)")
    print("all as expected" if not failures else f"{failures} unexpected result(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
