"""``python -m warpnet``: the same as the ``warpnet`` command."""

import sys

from warpnet.cli import main

sys.exit(main())
