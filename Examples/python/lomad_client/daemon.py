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
from .errors import LomadTimeout


def find_lomad(search_from: str | os.PathLike | None = None) -> Path:
    """`$LOMAD_BIN`, else `.build/debug/lomad` or `.build/release/lomad` of the checkout that
    holds `search_from` (default: this file), else `lomad` on PATH."""
    override = os.environ.get("LOMAD_BIN")
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            raise FileNotFoundError(f"LOMAD_BIN={override} is not an executable file")
        return path
    start = Path(search_from or __file__).resolve()
    for directory in [start, *start.parents]:
        for configuration in ("debug", "release"):
            candidate = directory / ".build" / configuration / "lomad"
            if os.access(candidate, os.X_OK):
                return candidate
    on_path = shutil.which("lomad")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError("lomad not found: build it (swift build) or set LOMAD_BIN to its path")


class LocalDaemon:
    """`with LocalDaemon({"m": "path/to/model"}) as daemon: Client(daemon.endpoint)`."""

    def __init__(
        self,
        models: Mapping[str, str | os.PathLike],
        binary: str | os.PathLike | None = None,
        extra_arguments: Sequence[str] = (),
        startup_timeout: float = 60.0,
    ):
        self.binary = Path(binary) if binary else find_lomad()
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
            except LomadTimeout:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"lomad did not answer within {self.startup_timeout:g} s:\n{self.log()}")

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

    def __enter__(self) -> "LocalDaemon":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
