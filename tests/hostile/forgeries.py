"""Wrong gradients that try to forge their verdict from inside the candidate's process.

* ``PatchesJudge`` -- replaces gradcert.properties.certify.judge with one that
  reports no disagreement, at import and again in every backprop.
* ``PatchesCompare`` -- replaces gradcert.properties.compare.compare (and the name
  certify imported) with one whose comparisons all agree.
* ``forges_arch`` -- a grad function that rewrites the frozen architecture it is
  handed with object.__setattr__ (a larger l2) and returns the gradient of that
  architecture, hoping the judge reads the rewritten one.

All three return a wrong gradient: each must be "gradient bug".

* ``HidesItsWrites`` -- a right gradient, but backprop zeroes the x and y it was handed, after
  replacing np.array_equal (and np.allclose) in its process with functions that say True: the
  worker's check of its inputs must not run on the candidate's NumPy ("mutated inputs").
* ``HidesItsWritesWithBuiltins`` -- the same writes behind ``builtins.enumerate`` (and ``zip``)
  rebound to give nothing: the worker's check must not run on the candidate's builtins either.
* ``RunsCodeInGradcert`` -- a wrong gradient, and a backprop that writes a reply of its own into
  gradcert's channel (the descriptor its worker was started with): a pickle that names no
  function, only the attribute path ``numpy.dtypes.__builtins__.get``, to reach ``exec`` and run
  code in gradcert's process (here ``raise SystemExit(0)``; ``os._exit(0)`` ended ``gradcert
  check`` with exit 0).  The reply must be refused ("crashed", the channel written into).
* ``PutsOffItsDeadline`` -- a backprop that writes a heartbeat (gradcert's "tick", which a batch of
  finite-difference calls sends after each call) into the channel every 0.2 s while it hangs: the
  deadline of a call that sends none must not be put off ("crashed", not a hang).
* ``RepliesWithAList`` -- a backprop that writes a reply that is not a message at all, ``[1, 2]``
  ("crashed", never a non-determinism made of gradcert's own AttributeError).
* ``BombsItsReply`` -- a layer's backward that writes a reply of a few hundred bytes holding a list
  of 2**40 numbers (each level the same list twice): gradcert must not walk it ("crashed").
"""

import builtins
import os
import pickle
import struct
import sys
import time

import numpy as np

from . import _base


def _patch_judge():
    try:
        from gradcert.properties import certify
    except ImportError:
        return
    certify.judge = lambda *args, **kwargs: []


def _patch_compare():
    try:
        from gradcert.properties import certify, compare
    except ImportError:
        return

    def agreeing(candidate, oracle, rounding, candidate_roundoff=None):
        return compare.Comparison(getattr(oracle, "name", "forged"), [])

    compare.compare = agreeing
    if hasattr(certify, "compare"):
        certify.compare = agreeing


_patch_judge()
_patch_compare()


class PatchesJudge(_base.Network):
    def backprop(self, x, y):
        _patch_judge()
        return _base.wrong(*super().backprop(x, y))


class PatchesCompare(_base.Network):
    def backprop(self, x, y):
        _patch_compare()
        return _base.wrong(*super().backprop(x, y))


def forges_arch(arch, weights, biases, x, y):
    object.__setattr__(arch, "l2", arch.l2 + 1.0)
    return _base.grad(arch, weights, biases, x, y)


class HidesItsWrites(_base.Network):
    def backprop(self, x, y):
        gradient = super().backprop(x, y)
        np.array_equal = lambda *args, **kwargs: True
        np.allclose = lambda *args, **kwargs: True
        x[...] = 0.0
        y[...] = 0.0
        return gradient


class HidesItsWritesWithBuiltins(_base.Network):
    def backprop(self, x, y):
        gradient = super().backprop(x, y)
        x[...] = 0.0
        y[...] = 0.0
        builtins.enumerate = builtins.zip = lambda *args, **kwargs: iter(())
        return gradient


def _unpickled_runs(code):
    """A protocol 4 pickle: exec(code), exec fetched as numpy.dtypes.__builtins__.get("exec")."""
    def text(t):
        return b"\x8c" + bytes([len(t)]) + t.encode()  # SHORT_BINUNICODE

    return (b"\x80\x04" + text("numpy.dtypes") + text("__builtins__.get") + b"\x93"  # STACK_GLOBAL
            + text("exec") + b"\x85R" + text(code) + b"\x85R.")  # TUPLE1 REDUCE, twice; STOP


def _write_reply(data):
    """``data`` (a pickle) as a reply on gradcert's channel, the descriptor its worker was started
    with (python -c BOOTSTRAP IN OUT PARENT); nothing elsewhere."""
    if len(sys.argv) > 2 and sys.argv[2].isdigit():
        try:
            os.write(int(sys.argv[2]), struct.pack("!Q", len(data)) + data)
        except OSError:
            pass


class RunsCodeInGradcert(_base.Network):
    def backprop(self, x, y):
        _write_reply(_unpickled_runs("raise SystemExit(0)"))
        return _base.wrong(*super().backprop(x, y))


class PutsOffItsDeadline(_base.Network):
    def backprop(self, x, y):
        for i in range(300):  # 60 s
            _write_reply(pickle.dumps({"status": "tick", "done": i + 1}))
            time.sleep(0.2)
        return _base.wrong(*super().backprop(x, y))


class RepliesWithAList(_base.Network):
    def backprop(self, x, y):
        _write_reply(pickle.dumps([1, 2]))
        return _base.wrong(*super().backprop(x, y))


class BombsItsReply(_base.TanhLayer):
    def backward(self, dout):
        nested = [1.0, 1.0]
        for _ in range(40):
            nested = [nested, nested]
        _write_reply(pickle.dumps({"status": "ok", "value": nested, "mutated": []}))
        return 2.0 * super().backward(dout)
