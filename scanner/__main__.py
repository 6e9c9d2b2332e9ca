"""`python -m scanner` runs the command-line interface."""

import sys

from scanner.cli import main

sys.exit(main())
