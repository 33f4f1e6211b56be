"""Correct networks that move their process's working directory.

``DeletesItsCwd`` makes a temporary directory, changes into it and removes it,
leaving the process in a directory that no longer exists.
``ChdirElsewhere`` changes into a directory of its own under the system's
temporary directory, made once (``gradcert-hostile-chdir-<uid>``) and reused, so
that however its processes end they leave at most that one empty directory.
Neither touches anything it did not create.
"""

import os
import tempfile

from . import _base


class DeletesItsCwd(_base.Network):
    def backprop(self, x, y):
        scratch = tempfile.mkdtemp(prefix="gradcert-hostile-")
        os.chdir(scratch)
        os.rmdir(scratch)
        return super().backprop(x, y)


class ChdirElsewhere(_base.Network):
    def backprop(self, x, y):
        elsewhere = os.path.join(tempfile.gettempdir(), f"gradcert-hostile-chdir-{os.getuid()}")
        os.makedirs(elsewhere, mode=0o700, exist_ok=True)
        os.chdir(elsewhere)
        return super().backprop(x, y)
