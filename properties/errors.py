"""gradcert's one exception family.

Every error gradcert raises on purpose is a ``GradcertError``; which subclass
says who has to act:

* ``UsageError``   -- the caller's arguments cannot work (exit code 2); its
  message is one line that names what was wrong and how to fix it.
  ``TargetError`` (the target cannot be loaded, or is no style gradcert can
  drive) and ``ArchitectureError`` (a network description that cannot be
  built) are usage errors too.
* ``CannotCheck``  -- the arguments were fine but nothing could be checked:
  the candidate declined every drawn case (``NotImplementedError``), or no
  oracle could compute a value (exit code 2).
* ``CertificationError`` -- ``Certificate.raise_for_verdict()`` on a candidate
  that was not certified; an ``AssertionError`` too, so that pytest shows it
  as a failed assertion.  ``GradientMismatch`` is ``assert_gradient``'s.

Nothing here imports anything: the reference, the oracles and the front ends
all use it.
"""

from __future__ import annotations


class GradcertError(Exception):
    """The base of every error gradcert raises on purpose."""


class UsageError(GradcertError, ValueError):
    """The caller's arguments cannot work: one line saying what to change (exit code 2)."""


class TargetError(UsageError):
    """The target cannot be loaded, or is not an interface gradcert can drive (exit code 2)."""


class ArchitectureError(UsageError):
    """A network description that cannot be built; the message says how to fix it."""


class CannotCheck(GradcertError):
    """Nothing could be checked: every case declined, or no oracle applied (exit code 2)."""


class CertificationError(GradcertError, AssertionError):
    """A candidate was not certified; ``certificate`` is the ``Certificate`` with the failure."""

    def __init__(self, message, certificate=None):
        super().__init__(message)
        self.certificate = certificate


class GradientMismatch(GradcertError, AssertionError):
    """``assert_gradient``: a gradient disagrees with an oracle beyond its tolerance."""


__all__ = [
    "ArchitectureError",
    "CannotCheck",
    "CertificationError",
    "GradcertError",
    "GradientMismatch",
    "TargetError",
    "UsageError",
]
