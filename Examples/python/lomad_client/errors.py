"""Exceptions of the lomad client.

A daemon that answers with a status other than OK raises a `StatusError` subclass chosen by the
status code, so callers can catch `NotFound` or `ResourceExhausted` without parsing messages; the
code and the daemon's message stay on the exception for logs. Failures on the client's side of
the wire (no reply, a reply that is not loma.v1, bad arguments) have their own types.
"""

from __future__ import annotations

from .loma.v1 import status_pb2


class LomadError(Exception):
    """Base of every error this package raises."""


class LomadTimeout(LomadError, TimeoutError):
    """No reply within the timeout on any attempt: the daemon is down, overloaded or unreachable."""

    def __init__(self, endpoint: str, attempts: int, timeout: float):
        self.endpoint = endpoint
        self.attempts = attempts
        self.timeout = timeout
        plural = "" if attempts == 1 else "s"
        super().__init__(
            f"no reply from lomad at {endpoint} within {timeout:g} s ({attempts} attempt{plural}); "
            "is the daemon running?"
        )


class MalformedReply(LomadError):
    """The daemon answered with something that is not a valid loma.v1 reply."""


class StatusError(LomadError):
    """The daemon refused or failed the request; `code` is a `loma.v1.StatusCode` value."""

    code: int = status_pb2.STATUS_CODE_INTERNAL

    def __init__(self, code: int, message: str):
        self.code = code
        self.status_message = message
        super().__init__(f"{status_name(code)}: {message}")

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
