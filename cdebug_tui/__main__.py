"""Provides `python -m cdebug_tui`, the same as the cdebug-tui command."""

import sys

from cdebug_tui.cli import main

sys.exit(main())
