"""``python -m rag ...`` runs the ``rag`` command."""

import sys

from .faces.cli import main

sys.exit(main())
