"""`python -m ops ...`: the on-call command line (see ops/__init__.py)."""
import sys

from ops import main

sys.exit(main())
