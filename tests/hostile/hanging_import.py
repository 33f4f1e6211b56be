"""A module whose import hangs (for 60 s: a data download that never answers)."""

import time

from ._base import Network  # noqa: F401  (the target, never reached)

time.sleep(60)
