"""A network.py module whose author forgot the ``if __name__ == "__main__":`` guard:
its last line runs a training script that ends in sys.exit(0) on import."""

import sys

from ._base import Network  # noqa: F401  (the target: correct, and never reached)

print("training...")
sys.exit(0)
