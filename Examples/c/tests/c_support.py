"""Running the C programs under valgrind for the C tests.

Every run must report "ERROR SUMMARY: 0 errors" and no leak; valgrind's own failure status is 99
so that a leak is never mistaken for one of the program's exit statuses.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

VALGRIND_FAILURE = 99


def valgrind(program: Path, arguments: Sequence[str], log_dir: Path,
             env: Mapping[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Runs `program arguments` under valgrind --leak-check=full; returns the completed process
    and the seconds it took. Fails the test on any valgrind error or leak."""
    assert Path(program).exists(), f"{program} is missing: run `make -C Examples/c` first"
    assert shutil.which("valgrind"), "valgrind is not installed (apt-get install valgrind)"
    log = log_dir / f"valgrind-{len(list(log_dir.glob('valgrind-*')))}.log"
    started = time.monotonic()
    completed = subprocess.run(
        ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect,possible",
         f"--error-exitcode={VALGRIND_FAILURE}", f"--log-file={log}", str(program), *arguments],
        capture_output=True, text=True, timeout=300, env=None if env is None else dict(env),
    )
    elapsed = time.monotonic() - started
    report = log.read_text()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    assert completed.returncode != VALGRIND_FAILURE and summary and summary.group(1) == "0", report
    assert "definitely lost" not in report or "definitely lost: 0 bytes" in report, report
    print(f"valgrind {Path(program).name} {' '.join(arguments[-4:])}: {summary.group(0)}")
    return completed, elapsed


@contextmanager
def hang_up_endpoint() -> Iterator[str]:
    """A tcp endpoint that accepts connections and closes them at once, as something that is not
    lomad does (and lomad past its connection limit looks the same to a client)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                listener.accept()[0].close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()
