"""liblomad-client as an embedding program gets it: `make install` into a temporary prefix, then
a C program (exercise_client.c) that calls every function, built with
`cc prog.c $(pkg-config --cflags --libs lomad-client)` against the shared library and against the
static one, run under valgrind against a real lomad. Also: a staged install (DESTDIR), the
folder building from installed protos once copied out of the checkout, CURVE keys, and the
no-daemon and bad-endpoint failures returning at once."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import zmq

from c_support import hang_up_endpoint, valgrind
from lomad_client import chunk_hashes
from lomad_client.daemon import LocalDaemon
from testing_support import MODELS

C_DIR = Path(__file__).resolve().parents[1]
PROGRAM_SOURCE = Path(__file__).resolve().parent / "exercise_client.c"
# Far longer than any run here takes: a failure reported "at once" returns well before it.
LONG_TIMEOUT_MS = 30_000
# exercise_client's `health` mode exits 10 - lomad_result.
EXIT_ENDPOINT, EXIT_UNAVAILABLE, EXIT_NOT_ADMITTED = 16, 17, 18
# exercise_client's `health` mode uses the default retries: 1 + LOMAD_DEFAULT_RETRIES attempts.
ATTEMPTS = 3
# A peer closing the connection during the handshake 3 times in a row (a daemon at its connection
# limit, CURVE wanted, another server key, not lomad): ambiguous, so unavailable, never a timeout.
HUNG_UP = "closed the connection during the handshake 3 times: its connection limit may be reached (retry later)"


def make(*arguments: str, directory: Path = C_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(directory), *arguments],
                          capture_output=True, text=True, timeout=600)


def pkg_config(prefix: Path, *arguments: str) -> list[str]:
    completed = subprocess.run(["pkg-config", *arguments, "lomad-client"], capture_output=True, text=True, check=True,
                               env={**os.environ, "PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")})
    return completed.stdout.split()


def compile_program(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, f"{' '.join(command)}\n{completed.stderr}"


def needed_libraries(binary: Path) -> str:
    return subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """An installed prefix and the test program built against it twice: shared and static."""
    root = tmp_path_factory.mktemp("installed")
    prefix = root / "prefix"
    completed = make("install", f"PREFIX={prefix}")
    assert completed.returncode == 0, completed.stderr
    shared, static = root / "exercise_shared", root / "exercise_static"
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"]
    # The documented build line, shared library:
    compile_program(["cc", *flags, str(PROGRAM_SOURCE), *pkg_config(prefix, "--cflags", "--libs"), "-o", str(shared)])
    # Static: the archive by its installed path, its dependencies from pkg-config.
    libdir = pkg_config(prefix, "--variable=libdir")[0]
    dependencies = subprocess.run(["pkg-config", "--libs", "libzmq", "libprotobuf-c"], capture_output=True, text=True,
                                  check=True).stdout.split()
    compile_program(["cc", *flags, str(PROGRAM_SOURCE), *pkg_config(prefix, "--cflags"),
                     f"{libdir}/liblomad-client.a", *dependencies, "-o", str(static)])
    return {"prefix": prefix, "shared": shared, "static": static}


def environment(installed: dict[str, Path]) -> dict[str, str]:
    return {**os.environ, "LD_LIBRARY_PATH": str(installed["prefix"] / "lib")}


def test_install_layout_soname_and_exports(installed):
    prefix = installed["prefix"]
    lib = prefix / "lib"
    for path in ("include/lomad_client.h", "lib/liblomad-client.a", "lib/pkgconfig/lomad-client.pc",
                 "bin/lomad-compress", "share/lomad/protos/loma/v1/envelope.proto",
                 "share/lomad/protos/loma/v1/operations.proto"):
        assert (prefix / path).is_file(), path
    assert os.readlink(lib / "liblomad-client.so") == "liblomad-client.so.1"
    assert (lib / "liblomad-client.so.1").resolve().name == "liblomad-client.so.1.0.0"
    assert "(SONAME)             Library soname: [liblomad-client.so.1]" in needed_libraries(lib / "liblomad-client.so.1")
    exported = subprocess.run(["nm", "-D", "--defined-only", str(lib / "liblomad-client.so.1")], capture_output=True,
                              text=True, check=True).stdout.split("\n")
    names = {line.split()[-1] for line in exported if line.strip()}
    assert {"lomad_client_new", "lomad_model_info", "lomad_lookup_prefix", "lomad_free"} <= names
    assert all(name.startswith("lomad_") for name in names), sorted(n for n in names if not n.startswith("lomad_"))
    pc = (lib / "pkgconfig" / "lomad-client.pc").read_text()
    assert f"prefix={prefix}\n" in pc and "Requires.private: libzmq libprotobuf-c" in pc
    # The shared build needs the shared library; the static one does not.
    assert "liblomad-client.so.1" in needed_libraries(installed["shared"])
    assert "liblomad-client" not in needed_libraries(installed["static"])


def test_staged_install_names_the_prefix_not_the_stage(tmp_path):
    stage = tmp_path / "stage"
    completed = make("install", "PREFIX=/opt/lomad", f"DESTDIR={stage}", f"BUILD={tmp_path / 'build'}")
    assert completed.returncode == 0, completed.stderr
    pc = (stage / "opt/lomad/lib/pkgconfig/lomad-client.pc").read_text()
    assert "prefix=/opt/lomad\n" in pc and "libdir=${prefix}/lib\n" in pc and str(stage) not in pc
    assert (stage / "opt/lomad/lib/liblomad-client.so.1.0.0").is_file()
    assert (stage / "opt/lomad/include/lomad_client.h").is_file()
    completed = make("uninstall", "PREFIX=/opt/lomad", f"DESTDIR={stage}", f"BUILD={tmp_path / 'build'}")
    assert completed.returncode == 0, completed.stderr
    assert [p for p in stage.rglob("*") if not p.is_dir()] == []


@pytest.mark.parametrize("linkage", ["shared", "static"])
def test_every_call_against_a_real_daemon(installed, daemon, tmp_path, linkage):
    # Segments an ended client process left behind go when a new client makes its first one; a
    # running process's stay.
    ended = subprocess.run(["/bin/sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    stale = Path(f"/dev/shm/lomad-out-{int(ended.stdout)}-c0ffee")
    live = Path(f"/dev/shm/lomad-in-{os.getppid()}-c0ffee")
    for path in (stale, live):
        path.touch(mode=0o600)
    try:
        completed, _ = valgrind(installed[linkage], ["walk", daemon.endpoint, "llama_gqa"], tmp_path, environment(installed))
        assert not stale.exists() and live.exists()
    finally:
        stale.unlink(missing_ok=True)
        live.unlink(missing_ok=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "all calls checked" in completed.stdout
    assert "2 layers, 2 kv heads, head_dim 8, segment 8, ratio 2" in completed.stdout
    # The daemon fixture is on ipc: the KV went through the client's shared-memory segments, and
    # equalled what a frames-only client got (exercise_client checks the bytes).
    assert "shared memory: used" in completed.stdout
    # The C chunk hashes are the Python client's (and the protocol's) chained sha256.
    line = next(l for l in completed.stdout.splitlines() if l.startswith("chunk hash 0 of "))
    first_token = int(line.split("of ")[1].split("..")[0])
    segment = 8
    expected = chunk_hashes(list(range(first_token, first_token + 2 * segment)), segment)[0].hex()
    assert line.endswith(expected), (line, expected)


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def hangs_up():
    """A tcp endpoint that accepts connections and closes them at once: not lomad."""
    with hang_up_endpoint() as endpoint:
        yield endpoint


def test_no_daemon_and_bad_endpoints_fail_at_once(installed, tmp_path, hangs_up):
    situations = [
        ("tcp://no-such-host.invalid:5555", EXIT_UNAVAILABLE, "cannot resolve host 'no-such-host.invalid'"),
        (hangs_up, EXIT_UNAVAILABLE, f"unavailable: lomad at {hangs_up} {HUNG_UP}, the endpoint may require CURVE keys "
                                     "or a different server key, or it is not lomad"),
        (f"ipc://{tmp_path / 'none.sock'}", EXIT_UNAVAILABLE, "unavailable: no lomad at ipc://"),
        (f"tcp://127.0.0.1:{free_tcp_port()}", EXIT_UNAVAILABLE, "connection refused"),
        (str(tmp_path / "l.sock"), EXIT_ENDPOINT, f"invalid endpoint: not an endpoint: '{tmp_path / 'l.sock'}'; did you mean"),
        ("ipc://tmp/l.sock", EXIT_ENDPOINT, "ipc path 'tmp/l.sock' is relative; write ipc:///tmp/l.sock"),
        ("localhost:5555", EXIT_ENDPOINT, "not an endpoint: 'localhost:5555'; did you mean tcp://localhost:5555?"),
        ("tcp://localhost", EXIT_ENDPOINT, "no port"),
        ("tcp://localhost:99999", EXIT_ENDPOINT, "not a number from 1 to 65535"),
        ("udp://localhost:5", EXIT_ENDPOINT, "unknown scheme 'udp'"),
    ]
    for endpoint, status, text in situations:
        completed, elapsed = valgrind(installed["shared"], ["health", endpoint, str(LONG_TIMEOUT_MS)], tmp_path,
                                      environment(installed))
        assert completed.returncode == status, (endpoint, completed.stdout)
        assert text in completed.stdout, (endpoint, completed.stdout)
        # Well before one attempt's timeout, let alone all of them (the hang-ups end each attempt early).
        assert elapsed < LONG_TIMEOUT_MS / 1000 < LONG_TIMEOUT_MS * ATTEMPTS / 1000, \
            f"{endpoint}: took {elapsed:.1f} s, as long as a timeout"


def write_key_pair(path: Path) -> None:
    public, secret = (key.decode() for key in zmq.curve_keypair())
    path.write_text(f"# test key\n{secret}\n")
    path.with_name(path.name + ".pub").write_text(f"# public\n{public}\n")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """lomad on tcp with CURVE, admitting one client key as tenant 'team'."""
    directory = tmp_path_factory.mktemp("curve")
    for name in ("server.key", "team.key", "stranger.key"):
        write_key_pair(directory / name)
    team_public = (directory / "team.key.pub").read_text().split()[-1]
    (directory / "clients.toml").write_text(f'[tenants.team]\ncurve_keys = ["{team_public}"]\n')
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    arguments = ["--endpoint", endpoint, "--server-secret-key-file", str(directory / "server.key"),
                 "--clients-file", str(directory / "clients.toml")]
    with LocalDaemon({"llama_gqa": MODELS["llama_gqa"]}, extra_arguments=arguments):
        yield endpoint, directory


def test_curve_keys_admit_and_refuse_at_once(installed, secured, tmp_path):
    endpoint, keys = secured
    server = str(keys / "server.key.pub")
    completed, _ = valgrind(installed["shared"], ["health", endpoint, server, str(keys / "team.key")], tmp_path,
                            environment(installed))
    assert completed.returncode == 0 and completed.stdout.strip() == "ok tenant=team", completed.stdout
    # Each situation: the (exit status, text) outcomes accepted. A plain client at a CURVE endpoint
    # gets the mechanism mismatch (not admitted) or, depending on a race inside libzmq, only the
    # peer closing the connection during the handshake (unavailable); a wrong server key only the
    # latter. Either way well before a timeout.
    hung_up = (EXIT_UNAVAILABLE, f"unavailable: lomad at {endpoint} {HUNG_UP}")
    situations = [
        ([server, str(keys / "stranger.key")], [(EXIT_NOT_ADMITTED, f"not admitted: lomad at {endpoint} refused")]),
        ([], [(EXIT_NOT_ADMITTED, f"not admitted: lomad at {endpoint} requires CURVE on this endpoint"), hung_up]),
        ([str(keys / "stranger.key.pub"), str(keys / "team.key")], [hung_up]),
    ]
    for key_arguments, outcomes in situations:
        completed, elapsed = valgrind(installed["shared"], ["health", endpoint, *key_arguments, str(LONG_TIMEOUT_MS)],
                                      tmp_path, environment(installed))
        assert any(completed.returncode == status and text in completed.stdout for status, text in outcomes), \
            (key_arguments, completed.returncode, completed.stdout)
        assert elapsed < LONG_TIMEOUT_MS / 1000 < LONG_TIMEOUT_MS * ATTEMPTS / 1000, \
            f"took {elapsed:.1f} s, as long as a timeout"
    (tmp_path / "bad.key").write_text("# nothing here\n")
    completed, _ = valgrind(installed["shared"], ["health", endpoint, server, str(tmp_path / "bad.key")], tmp_path,
                            environment(installed))
    assert "expected exactly one 40-character Z85 key line" in completed.stdout, completed.stdout


def test_lomad_compress_with_curve_keys(installed, secured, tmp_path):
    from testing_support import FIXTURES

    endpoint, keys = secured
    common = ["--endpoint", endpoint, "--model", "llama_gqa", "--output", str(tmp_path / "out.safetensors"),
              "--input", str(FIXTURES / "cases" / "llama_gqa_single" / "input.safetensors"),
              "--server-key-file", str(keys / "server.key.pub")]
    tool = installed["prefix"] / "bin" / "lomad-compress"
    completed, _ = valgrind(tool, [*common, "--secret-key-file", str(keys / "team.key")], tmp_path)
    assert completed.returncode == 0, completed.stderr
    completed, _ = valgrind(tool, [*common, "--secret-key-file", str(keys / "stranger.key")], tmp_path)
    assert completed.returncode == 5, completed.stderr
    assert "lomad-compress: compress: lomad at " in completed.stderr and "refused this client's CURVE key" in completed.stderr


def test_copied_folder_builds_from_installed_protos(installed, tmp_path):
    copy = tmp_path / "a" / "b" / "c" / "lomad-c"
    shutil.copytree(C_DIR, copy, ignore=shutil.ignore_patterns("build", "__pycache__"))
    completed = make(f"PREFIX={tmp_path / 'nothing-installed'}", directory=copy)
    assert completed.returncode != 0 and "no loma.v1 protos" in completed.stderr, completed.stderr
    completed = make(f"PREFIX={installed['prefix']}", directory=copy)
    assert completed.returncode == 0, completed.stderr
    assert (copy / "build" / "liblomad-client.so.1.0.0").is_file() and (copy / "build" / "lomad-compress").is_file()


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_a_daemon_stopping_between_calls_is_reported_at_once(installed, tmp_path, transport):
    """One client, two calls; lomad stops in between. The second call reports it gone at once:
    ipc finds the socket file removed, tcp's reconnect is refused."""
    arguments = ["--endpoint", f"tcp://127.0.0.1:{free_tcp_port()}"] if transport == "tcp" else []
    daemon = LocalDaemon({"llama_gqa": MODELS["llama_gqa"]}, extra_arguments=arguments).start()
    endpoint = arguments[1] if arguments else daemon.endpoint
    log = tmp_path / "valgrind.log"
    process = subprocess.Popen(
        ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99",
         f"--log-file={log}", str(installed["shared"]), "twice", endpoint, str(LONG_TIMEOUT_MS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment(installed))
    try:
        assert process.stdout.readline().strip() == "first call: ok"
    finally:
        assert daemon.stop() == 0, daemon.log()
    started = time.monotonic()
    output, _ = process.communicate("go\n", timeout=300)
    elapsed = time.monotonic() - started
    assert process.returncode == EXIT_UNAVAILABLE, (output, log.read_text())
    expected = "the socket file does not exist" if transport == "ipc" else "connection refused"
    assert f"no lomad at {endpoint}: {expected}" in output, output
    assert elapsed < LONG_TIMEOUT_MS / 1000, f"took {elapsed:.1f} s, as long as a timeout"
    assert "ERROR SUMMARY: 0 errors" in log.read_text(), log.read_text()
