"""`python -m mtkeras` is the `mtkeras` command."""

import sys

from mtkeras.cli import main

sys.exit(main())
