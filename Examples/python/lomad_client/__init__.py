"""Python client of lomad, the LoMA KV-cache compression daemon (loma.v1 over ZeroMQ).

`Client` (blocking) and `AsyncClient` (asyncio) offer every operation with numpy arrays in and
out and plain dataclasses for everything else; `ClientPool` shares clients among threads.
torch tensors go in wherever arrays do and `Memory.torch()` gives them back (the `torch` extra);
`lomad_client.hf.LomadCache` is the compressed cache for transformers (the `hf` extra).
"""

from .async_client import AsyncClient
from .chunk_hash import ROOT_HASH, chunk_hashes
from .client import DEFAULT_RETRIES, DEFAULT_TIMEOUT, METHODS, Client
from .curve import CurveKeys, read_key_file
from .endpoint import Endpoint, parse_endpoint
from .errors import (
    DataLoss,
    EndpointError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LomadError,
    LomadTimeout,
    LomadUnavailable,
    MalformedReply,
    NotAdmitted,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    StatusError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from .pool import ClientPool
from .results import (
    Health,
    Limits,
    Memory,
    ModelInfo,
    OperationStats,
    SequenceInfo,
    Stats,
    StoreStats,
    TenantUsage,
)

__all__ = [
    "Client",
    "AsyncClient",
    "ClientPool",
    "DEFAULT_TIMEOUT",
    "DEFAULT_RETRIES",
    "CurveKeys",
    "read_key_file",
    "Endpoint",
    "parse_endpoint",
    "METHODS",
    "Health",
    "Limits",
    "ModelInfo",
    "Stats",
    "OperationStats",
    "StoreStats",
    "TenantUsage",
    "Memory",
    "SequenceInfo",
    "chunk_hashes",
    "ROOT_HASH",
    "LomadError",
    "EndpointError",
    "LomadUnavailable",
    "LomadTimeout",
    "NotAdmitted",
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
