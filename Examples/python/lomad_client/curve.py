"""CURVE keys for lomad's authenticated tcp endpoints.

Key files are what `lomactl keygen PATH` writes: one 40-character Z85 key on its own line, with
`#` comment lines. The daemon admits a client whose public key its clients file lists, and the
client's requests then act as the tenant the file names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import zmq


def read_key_file(path: str | os.PathLike) -> str:
    """The Z85 key in a key file; ValueError naming the file otherwise."""
    with open(path, encoding="utf-8") as file:
        lines = [line.strip() for line in file if line.strip() and not line.strip().startswith("#")]
    if len(lines) != 1 or len(lines[0]) != 40:
        raise ValueError(f"CURVE key file {os.fspath(path)}: expected exactly one 40-character Z85 key line")
    return lines[0]


@dataclass(frozen=True)
class CurveKeys:
    """The daemon's public key and this client's secret key (its public key is derived)."""

    server_public_key: str
    secret_key: str

    @property
    def public_key(self) -> str:
        return zmq.curve_public(self.secret_key.encode()).decode()

    @classmethod
    def from_files(cls, server: str | os.PathLike, secret_key_file: str | os.PathLike) -> "CurveKeys":
        """`server` is the daemon's public key file (e.g. server.key.pub) or the key itself."""
        text = os.fspath(server)
        server_key = text if len(text) == 40 and not os.path.exists(text) else read_key_file(text)
        return cls(server_key, read_key_file(secret_key_file))

    def apply(self, socket: zmq.Socket) -> None:
        """Makes `socket` a CURVE client of the daemon; call before connect."""
        socket.curve_secretkey = self.secret_key.encode()
        socket.curve_publickey = self.public_key.encode()
        socket.curve_serverkey = self.server_public_key.encode()
