"""Exceptions of the lomad client.

A daemon that answers with a status other than OK raises a `StatusError` subclass chosen by the
status code, so callers can catch `NotFound` or `ResourceExhausted` without parsing messages; the
code and the daemon's message stay on the exception for logs. Failures on the client's side of
the wire (no reply, a reply that is not loma.v1, bad arguments) have their own types.
"""

from __future__ import annotations

from .loma.v1 import status_pb2


class LomadError(Exception):
    """Base of every error this package raises.

    `kind` names the class of failure in the words all lomad clients use ("invalid endpoint",
    "unavailable", ...), and `exit_code` is the status lomactl and lomad-compress exit with for
    it, so a Python command-line tool can report failures exactly as they do.
    """

    kind: str = "error"
    exit_code: int = 1


class EndpointError(LomadError, ValueError):
    """The endpoint text is not one lomad can listen on; raised before any socket exists."""

    kind = "invalid endpoint"
    exit_code = 2


class LomadUnavailable(LomadError):
    """No daemon answered: no socket file, the connection was refused, or (`LomadTimeout`) no reply."""

    kind = "unavailable"
    exit_code = 3

    def __init__(self, endpoint: str, reason: str):
        self.endpoint = endpoint
        self.reason = reason
        super().__init__(f"no lomad at {endpoint}: {reason}")


class LomadTimeout(LomadUnavailable, TimeoutError):
    """No reply within the timeout on any attempt: the daemon is down, overloaded or unreachable."""

    def __init__(self, endpoint: str, attempts: int, timeout: float):
        self.attempts = attempts
        self.timeout = timeout
        plural = "" if attempts == 1 else "s"
        super().__init__(endpoint, f"no reply within {timeout:g} s ({attempts} attempt{plural}); is lomad running?")


class NotAdmitted(LomadError):
    """The handshake failed: the daemon refused this client's CURVE key (not in its clients file),
    the client speaks plain ZMTP to a CURVE endpoint, or holds the wrong server key."""

    kind = "not admitted"
    exit_code = 5

    def __init__(self, endpoint: str, reason: str = "refused this client's CURVE key (is its public key in the clients file?)"):
        self.endpoint = endpoint
        super().__init__(f"lomad at {endpoint} {reason}")


class MalformedReply(LomadError):
    """The daemon answered with something that is not a valid loma.v1 reply."""

    kind = "malformed reply"


class StatusError(LomadError):
    """The daemon refused or failed the request; `code` is a `loma.v1.StatusCode` value."""

    code: int = status_pb2.STATUS_CODE_INTERNAL
    kind = "error status"
    exit_code = 4

    def __init__(self, code: int, message: str):
        self.code = code
        self.status_message = message
        super().__init__(f"lomad answered {status_name(code).lower()}: {message}")

    @property
    def code_name(self) -> str:
        return status_name(self.code)


class InvalidArgument(StatusError):
    """The request itself is wrong: descriptor, shape, dtype, NaN/Inf when checked."""


class NotFound(StatusError):
    """A named model, sequence or prefix does not exist."""


class FailedPrecondition(StatusError):
    """Well formed but disagrees with stored state (a position going backwards, a fork target that exists)."""


class ResourceExhausted(StatusError):
    """A limit was reached (queue full, frame too large); retry later or smaller."""


class Unauthenticated(StatusError):
    pass


class PermissionDenied(StatusError):
    pass


class Unavailable(StatusError):
    """The daemon is shutting down; retrying elsewhere may work."""


class Internal(StatusError):
    """A bug in the daemon; the request did not change stored data."""


class Unimplemented(StatusError):
    """The operation is unknown to this daemon or not implemented yet."""


class DataLoss(StatusError):
    """Stored data is damaged (failed its checksum or is missing); it is not served, and retrying does not help."""


_BY_CODE: dict[int, type[StatusError]] = {
    status_pb2.STATUS_CODE_INVALID_ARGUMENT: InvalidArgument,
    status_pb2.STATUS_CODE_NOT_FOUND: NotFound,
    status_pb2.STATUS_CODE_FAILED_PRECONDITION: FailedPrecondition,
    status_pb2.STATUS_CODE_RESOURCE_EXHAUSTED: ResourceExhausted,
    status_pb2.STATUS_CODE_UNAUTHENTICATED: Unauthenticated,
    status_pb2.STATUS_CODE_PERMISSION_DENIED: PermissionDenied,
    status_pb2.STATUS_CODE_UNAVAILABLE: Unavailable,
    status_pb2.STATUS_CODE_INTERNAL: Internal,
    status_pb2.STATUS_CODE_UNIMPLEMENTED: Unimplemented,
    status_pb2.STATUS_CODE_DATA_LOSS: DataLoss,
}


def status_name(code: int) -> str:
    """`NOT_FOUND` for STATUS_CODE_NOT_FOUND; codes from a newer protocol keep their number."""
    try:
        return status_pb2.StatusCode.Name(code).removeprefix("STATUS_CODE_")
    except ValueError:
        return f"status {code}"


def status_error(code: int, message: str) -> StatusError:
    """The exception for a non-OK status; unknown codes (a newer daemon) become plain `StatusError`."""
    return _BY_CODE.get(code, StatusError)(code, message)
