"""Text <-> ids for byte-level checkpoints (ids 0-255 are the UTF-8 bytes), without `tokenizers`.

Models/loma-tiny uses such a vocabulary: a BPE with GPT-2's 256 byte symbols, the symbol of byte
b having id b, and no merges. Any other tokenizer needs transformers; pass token ids instead.
"""

from __future__ import annotations

import json
from pathlib import Path


def _gpt2_byte_symbols() -> list[str]:
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


class ByteTokenizer:
    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids) -> str:
        """Special tokens (ids >= 256) are dropped; a split UTF-8 sequence decodes as U+FFFD."""
        return bytes(int(i) for i in ids if 0 <= int(i) < 256).decode("utf-8", errors="replace")


def load_byte_tokenizer(model_dir: str | Path) -> ByteTokenizer:
    """The tokenizer of `model_dir` if it is byte-level as described above; otherwise ValueError."""
    path = Path(model_dir) / "tokenizer.json"
    try:
        model = json.loads(path.read_text(encoding="utf-8"))["model"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: no readable tokenizer ({error}); pass --prompt-ids instead of --prompt") from error
    vocab = model.get("vocab") or {}
    byte_level = model.get("type") == "BPE" and not model.get("merges") and all(
        vocab.get(symbol) == byte for byte, symbol in enumerate(_gpt2_byte_symbols())
    )
    if not byte_level:
        raise ValueError(f"{path}: not a byte-level tokenizer; use generate_transformers.py or pass --prompt-ids")
    return ByteTokenizer()
