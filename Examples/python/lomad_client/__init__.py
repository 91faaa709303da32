"""Python client of lomad, the LoMA KV-cache compression daemon (loma.v1 over ZeroMQ)."""

from .chunk_hash import ROOT_HASH, chunk_hashes
from .client import METHODS, Client
from .curve import CurveKeys, read_key_file
from .errors import (
    DataLoss,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LomadError,
    LomadTimeout,
    MalformedReply,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    StatusError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from .results import Memory, SequenceInfo

__all__ = [
    "Client",
    "CurveKeys",
    "read_key_file",
    "METHODS",
    "Memory",
    "SequenceInfo",
    "chunk_hashes",
    "ROOT_HASH",
    "LomadError",
    "LomadTimeout",
    "MalformedReply",
    "StatusError",
    "InvalidArgument",
    "NotFound",
    "FailedPrecondition",
    "ResourceExhausted",
    "Unauthenticated",
    "PermissionDenied",
    "Unavailable",
    "Internal",
    "Unimplemented",
    "DataLoss",
]
