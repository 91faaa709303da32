"""Writes the byte-level vocabulary as Hugging Face tokenizer files.

A BPE model with the 256 byte symbols of the GPT-2 byte-to-unicode table, ordered so that a
byte's id is its value, and no merges: `AutoTokenizer` then turns text into its UTF-8 bytes,
the same ids training reads straight from the corpus bytes. Specials follow at 256+.
"""

from __future__ import annotations

import json
from pathlib import Path

from .vocabulary import END_OF_TEXT, Vocabulary


def _byte_symbols() -> list[str]:
    """GPT-2's reversible byte -> printable unicode map (tokenizers' ByteLevel alphabet)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    symbols = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


def save_tokenizer(vocabulary: Vocabulary, folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {symbol: byte for byte, symbol in enumerate(_byte_symbols())}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    for token_id, text in vocabulary.special_tokens():
        added = tokenizer.add_special_tokens([text])
        if tokenizer.token_to_id(text) != token_id or added != 1:
            raise RuntimeError(f"special token {text} got id {tokenizer.token_to_id(text)}, expected {token_id}")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=END_OF_TEXT, bos_token=END_OF_TEXT, pad_token=END_OF_TEXT,
        unk_token=None, model_max_length=4096, clean_up_tokenization_spaces=False)
    fast.save_pretrained(str(folder))
    # transformers 5 writes its own class name, which 4.x does not know; the v4 name loads in both.
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
