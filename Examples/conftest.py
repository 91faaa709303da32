"""A real lomad process serving the golden fixture models, shared by the whole test session.

The daemon binary is $LOMAD_BIN (run-tests.sh sets it to the checkout's .build/debug/lomad), else
what `find_lomad` finds (PATH, then this checkout's build); when none is there the session fails
with the list of places tried (it is never skipped). The tests import the installed lomad_client
(run-tests.sh installs the wheel it builds), never the sources in python/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lomad_client import Client  # noqa: E402
from lomad_client.daemon import LocalDaemon  # noqa: E402
from testing_support import MODELS  # noqa: E402


@pytest.fixture(scope="session")
def daemon():
    with LocalDaemon(MODELS) as running:
        yield running


@pytest.fixture
def client(daemon):
    with Client(daemon.endpoint, timeout=30.0) as connected:
        yield connected
