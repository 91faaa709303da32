"""Starting a private lomad process, for tests, examples and notebooks.

The daemon binds an ipc socket in a fresh temporary directory, so several can run side by side,
and is stopped with SIGTERM (it answers accepted requests, removes its socket and exits 0).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .client import Client
from .errors import LomadUnavailable


def _checkout_candidates(directory: Path) -> list[Path]:
    """The lomad binaries a SwiftPM build left in the lomad checkout holding `directory`."""
    for folder in [directory, *directory.parents]:
        if (folder / "Package.swift").is_file() and (folder / "Sources" / "lomad").is_dir():
            built = [folder / ".build" / configuration / "lomad" for configuration in ("debug", "release")]
            return sorted((path for path in built if os.access(path, os.X_OK)),
                          key=lambda path: path.stat().st_mtime, reverse=True)
    return []


def find_lomad(search_from: str | os.PathLike | None = None) -> Path:
    """The lomad binary: `$LOMAD_BIN`, else `lomad` on `PATH`, else the newest `.build/debug/lomad`
    or `.build/release/lomad` of the lomad checkout holding the current directory (or
    `search_from`, e.g. an example script's own path). `FileNotFoundError` lists what was tried.

    Installed packages live in site-packages, far from any checkout, so the package's own path
    is never a place to look.
    """
    override = os.environ.get("LOMAD_BIN")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"LOMAD_BIN={override} is not an executable file")
        return path
    on_path = shutil.which("lomad")
    if on_path:
        return Path(on_path)
    starts = [Path.cwd()] + ([Path(search_from).resolve()] if search_from is not None else [])
    for start in starts:
        found = _checkout_candidates(start)
        if found:
            return found[0]
    checkouts = " or ".join(str(start) for start in starts)
    raise FileNotFoundError(
        "lomad not found; tried $LOMAD_BIN (not set), PATH (no lomad), and the lomad checkout holding "
        f"{checkouts} (none, or not built): set LOMAD_BIN, put lomad on PATH, or run swift build in the checkout"
    )


class LocalDaemon:
    """`with LocalDaemon({"m": "path/to/model"}) as daemon: Client(daemon.endpoint)`."""

    def __init__(
        self,
        models: Mapping[str, str | os.PathLike],
        binary: str | os.PathLike | None = None,
        extra_arguments: Sequence[str] = (),
        startup_timeout: float = 60.0,
        search_from: str | os.PathLike | None = None,
    ):
        """`binary` defaults to `find_lomad(search_from)`."""
        self.binary = Path(binary) if binary else find_lomad(search_from)
        self.models = dict(models)
        self.extra_arguments = list(extra_arguments)
        self.startup_timeout = startup_timeout
        self._directory: tempfile.TemporaryDirectory | None = None
        self._process: subprocess.Popen | None = None
        self.endpoint = ""
        self.log_path: Path | None = None

    def start(self) -> "LocalDaemon":
        self._directory = tempfile.TemporaryDirectory(prefix="lomad-")
        directory = Path(self._directory.name)
        self.endpoint = f"ipc://{directory / 'lomad.sock'}"
        self.log_path = directory / "lomad.log"
        arguments = [os.fspath(self.binary), "serve", "--endpoint", self.endpoint, "--log-level", "warning"]
        for name, path in self.models.items():
            arguments += ["--model", f"{name}={os.fspath(path)}"]
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(arguments + self.extra_arguments, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"lomad exited with status {self._process.returncode} at startup:\n{self.log()}")
            try:
                Client.connect(self.endpoint, timeout=0.5, retries=0).close()
                return
            except LomadUnavailable:  # no socket file yet, refused, or no reply yet
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"lomad did not answer within {self.startup_timeout:g} s:\n{self.log()}")
                time.sleep(0.05)  # a missing socket file is reported at once: do not spin

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within 15 s; returns its exit status."""
        status = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            status = self._process.returncode
            self._process = None
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None
        return status

    def __repr__(self) -> str:
        state = "running" if self._process is not None and self._process.poll() is None else "stopped"
        return f"LocalDaemon({self.endpoint or 'not started'}, binary={os.fspath(self.binary)!r}, {state})"

    def __enter__(self) -> "LocalDaemon":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
