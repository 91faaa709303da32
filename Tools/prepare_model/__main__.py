"""`python -m Tools.prepare_model NAME [...]`; see cli.py."""

import sys

from .cli import main

sys.exit(main())
