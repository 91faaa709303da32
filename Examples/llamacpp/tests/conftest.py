"""Puts Examples/llamacpp and Examples/generation on sys.path for the llama.cpp tests.

These tests run in run.sh's venv (`Examples/llamacpp/run.sh --test`), which has llama-cpp-python;
Examples/conftest.py above supplies the session daemon serving the fixture models.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2]
for folder in (EXAMPLES / "llamacpp", EXAMPLES / "generation"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
