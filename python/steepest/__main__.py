"""``python -m steepest``: the same command line as ``steepest``."""

import sys

from steepest.cli import main

sys.exit(main())
