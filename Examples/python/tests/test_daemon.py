"""find_lomad: $LOMAD_BIN, then PATH, then the checkout holding the current directory; the
error lists what was tried. A pip-installed package lives far from any checkout, so the
package's own location is never searched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lomad_client.daemon import LocalDaemon, find_lomad


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def fake_checkout(root: Path, *configurations: str) -> list[Path]:
    (root / "Sources" / "lomad").mkdir(parents=True)
    (root / "Package.swift").write_text("// swift-tools-version:6.0\n")
    return [executable(root / ".build" / configuration / "lomad") for configuration in configurations]


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No LOMAD_BIN, a PATH without lomad, and a current directory outside any checkout."""
    monkeypatch.delenv("LOMAD_BIN", raising=False)
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path


def test_lomad_bin_comes_first(nowhere, monkeypatch):
    chosen = executable(nowhere / "chosen" / "lomad")
    executable(nowhere / "empty-bin" / "lomad")
    monkeypatch.setenv("LOMAD_BIN", str(chosen))
    assert find_lomad() == chosen


def test_a_lomad_bin_that_is_no_executable_is_an_error(nowhere, monkeypatch):
    monkeypatch.setenv("LOMAD_BIN", str(nowhere / "missing"))
    with pytest.raises(FileNotFoundError, match=f"LOMAD_BIN={nowhere / 'missing'} is not an executable file"):
        find_lomad()


def test_path_comes_before_the_checkout(nowhere, monkeypatch):
    on_path = executable(nowhere / "empty-bin" / "lomad")
    fake_checkout(nowhere / "checkout", "debug")
    monkeypatch.chdir(nowhere / "checkout")
    assert find_lomad() == on_path


def test_the_checkout_holding_the_current_directory(nowhere, monkeypatch):
    debug, release = fake_checkout(nowhere / "checkout", "debug", "release")
    os.utime(debug, (1_000_000, 1_000_000))  # an old debug build: the newer release one is meant
    (nowhere / "checkout" / "Examples" / "generation").mkdir(parents=True)
    monkeypatch.chdir(nowhere / "checkout" / "Examples" / "generation")
    assert find_lomad() == release


def test_search_from_finds_the_checkout_of_a_script(nowhere):
    (debug,) = fake_checkout(nowhere / "checkout", "debug")
    script = nowhere / "checkout" / "Examples" / "generation" / "generate_numpy.py"
    script.parent.mkdir(parents=True)
    script.write_text("")
    assert find_lomad(search_from=script) == debug


def test_the_error_lists_what_was_tried(nowhere):
    fake_checkout(nowhere / "unbuilt")  # a checkout without a build does not count
    with pytest.raises(FileNotFoundError) as caught:
        LocalDaemon({}, search_from=nowhere / "unbuilt")
    message = str(caught.value)
    assert message.startswith("lomad not found; tried $LOMAD_BIN (not set), PATH (no lomad), and the lomad checkout holding ")
    assert str(nowhere / "elsewhere") in message and str(nowhere / "unbuilt") in message
    assert message.endswith("set LOMAD_BIN, put lomad on PATH, or run swift build in the checkout")


def test_repr_says_where_and_whether_it_runs(daemon):
    assert repr(daemon) == f"LocalDaemon({daemon.endpoint}, binary={os.fspath(daemon.binary)!r}, running)"
