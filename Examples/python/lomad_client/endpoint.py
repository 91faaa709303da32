"""Endpoints parsed on the client's side, before any socket exists.

libzmq accepts text that cannot reach lomad and reports it late or obscurely: a bare path is
refused with a bare `EINVAL`, and `ipc://tmp/x` silently names a path relative to the current
directory. Every lomad client (Swift, C, Python) therefore checks the endpoint itself and says
how to fix it, with the same rules and the same messages:

- `ipc:///absolute/path`
- `tcp://HOST:PORT`, HOST a name, an IPv4 address or `[IPv6]`, PORT 1-65535
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .errors import EndpointError

_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?")
_FORMS = "write ipc:///absolute/path or tcp://HOST:PORT"


@dataclass(frozen=True)
class Endpoint:
    """A checked endpoint: `scheme` "ipc" with `path`, or "tcp" with `host` and `port`."""

    text: str
    scheme: str
    path: str = ""
    host: str = ""
    port: int = 0

    @property
    def is_ipv6(self) -> bool:
        """A bracketed IPv6 host, which needs the socket's IPV6 option before connecting."""
        return self.host.startswith("[")

    def __str__(self) -> str:
        return self.text


def parse_endpoint(text: str) -> Endpoint:
    """The endpoint `text` names, or `EndpointError` saying what is wrong and how to write it."""
    if not isinstance(text, str):
        raise EndpointError(f"an endpoint is a string such as ipc:///run/lomad.sock, got {type(text).__name__}")
    scheme, separator, rest = text.partition("://")
    if not separator:
        if text.startswith("/"):
            raise EndpointError(f"not an endpoint: {text!r}; did you mean ipc://{text}?")
        raise EndpointError(f"not an endpoint: {text!r}; {_FORMS}")
    if scheme == "ipc":
        return _parse_ipc(text, rest)
    if scheme == "tcp":
        return _parse_tcp(text, rest)
    raise EndpointError(f"unknown scheme {scheme!r} in {text!r}; {_FORMS}")


def _parse_ipc(text: str, path: str) -> Endpoint:
    if not path:
        raise EndpointError(f"{text!r} names no path; write ipc:///absolute/path")
    if not path.startswith("/"):
        raise EndpointError(f"ipc path {path!r} is relative; write ipc:///{path}")
    return Endpoint(text, "ipc", path=path)


def _parse_tcp(text: str, rest: str) -> Endpoint:
    if rest.startswith("["):
        closing = rest.find("]")
        if closing < 0:
            raise EndpointError(f"{text!r}: the IPv6 address has no closing ']'; write tcp://[ADDRESS]:PORT")
        host, after = rest[: closing + 1], rest[closing + 1 :]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise EndpointError(f"{text!r}: {host[1:-1]!r} is not an IPv6 address") from None
        if not after.startswith(":"):
            raise EndpointError(f"{text!r} has no port; write tcp://{host}:PORT")
        port_text = after[1:]
    else:
        host, separator, port_text = rest.rpartition(":")
        if not separator:
            raise EndpointError(f"{text!r} has no port; write tcp://{rest or 'HOST'}:PORT")
        if ":" in host:
            raise EndpointError(f"{text!r}: an IPv6 host goes in brackets; write tcp://[{host}]:{port_text}")
        if not _HOST_NAME.fullmatch(host):
            raise EndpointError(f"{text!r}: {host!r} is not a host name or IPv4 address")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise EndpointError(f"{text!r}: port {port_text!r} is not a number from 1 to 65535")
    return Endpoint(text, "tcp", host=host, port=int(port_text))
