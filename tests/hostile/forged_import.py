"""A module whose import writes its own reply to gradcert's load request into gradcert's channel (the
descriptor its worker was started with): ``{"status": "missing"}``, as though it had no ``Network``,
which made a wrong gradient a usage error (exit 2) instead of a verdict.  The import itself then
goes on and defines the network, whose gradient is wrong.  Nothing is written outside gradcert's
worker (where argv is not IN OUT PARENT).
"""

import pickle

from . import _base
from .forgeries import _write_reply

_write_reply(pickle.dumps({"status": "missing", "module": __name__, "attr": "Network", "names": []}))


class Network(_base.Network):
    def backprop(self, x, y):
        return _base.wrong(*super().backprop(x, y))
