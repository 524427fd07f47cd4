"""`python -m flowpilot ...` is the `flowpilot` command."""

import sys

from flowpilot.cli import main

sys.exit(main())
