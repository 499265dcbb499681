"""``python -m snnx`` runs the ``snnx`` command."""

import sys

from snnx.cli import main

sys.exit(main())
