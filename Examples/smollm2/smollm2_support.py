"""Running Tools/prepare-model.sh from the tests, as a user runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PREPARE_MODEL = REPO_ROOT / "Tools" / "prepare-model.sh"


def prepare(name: str, delta: Path, output: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    """`Tools/prepare-model.sh NAME --delta DELTA --output OUTPUT EXTRA...`; with `check`, a
    non-zero exit fails with the script's stderr."""
    command = [str(PREPARE_MODEL), name, "--delta", str(delta), "--output", str(output), *extra]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    if check and completed.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {completed.returncode}:\n{completed.stderr}")
    return completed
