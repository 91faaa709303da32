"""lomad inside Hugging Face transformers: `LomadCache`, a `Cache` whose segments lomad compresses.

Needs torch and transformers (`pip install "lomad-client[hf]"`): importing this package without
them raises ImportError naming that extra.
"""

try:
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(f"lomad_client.hf needs torch and transformers: pip install 'lomad-client[hf]' ({error})") from error

from .cache import LomadCache, cache_argument

__all__ = ["LomadCache", "cache_argument"]
