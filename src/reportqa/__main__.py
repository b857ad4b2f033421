"""``python -m reportqa``: the same as the ``reportqa`` command."""

import sys

from .cli import main

sys.exit(main())
