"""``python -m gradcert``: the ``gradcert`` command."""

import sys

from gradcert.properties.frontends.cli import main

sys.exit(main())
