"""The README's generation command as a user runs it after `pip install Examples/python`: no
LOMAD_BIN, no lomad on PATH, the package in site-packages, and lomad found in the checkout that
holds the example script (issue 16 item 3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lomad_client.daemon import find_lomad
from testing_support import FIXTURES, REPO_ROOT

PROMPT_IDS = "3,14,15,9,26,5,35,8,9,7,9,32,38,4,6,2,6"


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A lomad checkout as a user has one: the examples, the numpy reference, Package.swift."""
    root = tmp_path / "lomad"
    shutil.copytree(REPO_ROOT / "Examples" / "generation", root / "Examples" / "generation",
                    ignore=shutil.ignore_patterns("tests", "__pycache__"))
    shutil.copytree(REPO_ROOT / "Tools" / "loma_reference", root / "Tools" / "loma_reference",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "Sources" / "lomad").mkdir(parents=True)
    (root / "Package.swift").write_text("// swift-tools-version:6.0\n")
    return root


def run_without_hints(checkout: Path, cwd: Path) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in ("LOMAD_BIN", "PYTHONPATH")}
    environment["PATH"] = os.path.dirname(sys.executable)  # python, but no lomad
    script = checkout / "Examples" / "generation" / "generate_numpy.py"
    return subprocess.run([sys.executable, str(script), "--model", str(FIXTURES / "models" / "llama_gqa"),
                           "--prompt-ids", PROMPT_IDS, "--max-new-tokens", "4", "--quiet"],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


def test_lomad_is_found_in_the_scripts_checkout(checkout, tmp_path):
    binary = checkout / ".build" / "debug" / "lomad"
    binary.parent.mkdir(parents=True)
    binary.symlink_to(find_lomad())  # the lomad these tests use, where `swift build` puts it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    completed = run_without_hints(checkout, cwd=elsewhere)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("tokens: ")


def test_without_lomad_the_error_says_where_it_looked(checkout, tmp_path):
    completed = run_without_hints(checkout, cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stderr.startswith("generate_numpy.py: start lomad: lomad not found; tried $LOMAD_BIN (not set), "
                                       "PATH (no lomad), and the lomad checkout holding ")
    assert str(checkout / "Examples" / "generation" / "generate_numpy.py") in completed.stderr
