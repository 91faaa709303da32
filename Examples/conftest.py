"""A real lomad process serving the golden fixture models, shared by the whole test session.

The daemon binary comes from $LOMAD_BIN or the checkout's .build; when it is missing the session
fails (it is never skipped).
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
