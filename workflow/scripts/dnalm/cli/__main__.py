"""``python -m dnalm.cli``: the ``dnalm`` command."""

import sys

from dnalm.cli import main

sys.exit(main())
