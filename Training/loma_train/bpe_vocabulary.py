"""A checkpoint's own BPE vocabulary with the LoMA tokens appended after it.

The base vocabulary keeps every id it has (so the base model's embedding rows and tokenizer stay
valid); `<|repeat|>` takes the first new id and the `t` memory tokens `<|memory_0|>`... the ids after
it, the same order as the byte-level `Vocabulary`. `layout.py` only reads `repetition_token_id`
and `memory_token_ids`, so both vocabularies drive the same training layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .vocabulary import REPETITION


@dataclass(frozen=True)
class BPEVocabulary:
    base_size: int        # rows of the base checkpoint's embedding (its config.vocab_size)
    memory_tokens: int    # t = segment_length / compression_ratio

    @property
    def repetition_token_id(self) -> int:
        return self.base_size

    @property
    def memory_token_ids(self) -> list[int]:
        return list(range(self.base_size + 1, self.base_size + 1 + self.memory_tokens))

    @property
    def new_token_rows(self) -> int:
        return 1 + self.memory_tokens

    @property
    def size(self) -> int:
        return self.base_size + self.new_token_rows

    def new_tokens(self) -> list[tuple[int, str]]:
        return [(self.repetition_token_id, REPETITION)] + [
            (token_id, f"<|memory_{slot}|>") for slot, token_id in enumerate(self.memory_token_ids)]


def extend_tokenizer(tokenizer: Any, vocabulary: BPEVocabulary) -> None:
    """Adds the LoMA tokens to a transformers tokenizer as special tokens, in order, and checks
    they got the ids the model's new embedding rows have. A tokenizer with more entries than the
    embedding has rows (or fewer) cannot be extended this way: its ids would not line up."""
    if len(tokenizer) != vocabulary.base_size:
        raise ValueError(f"the tokenizer has {len(tokenizer)} tokens but the model's embedding has "
                         f"{vocabulary.base_size} rows; the new tokens' ids would not match their rows")
    texts = [text for _, text in vocabulary.new_tokens()]
    present = [text for text in texts if text in tokenizer.get_vocab()]
    if present:
        raise ValueError(f"the tokenizer already has {present}: not a base checkpoint")
    tokenizer.add_special_tokens({"additional_special_tokens": texts}, replace_extra_special_tokens=False)
    for token_id, text in vocabulary.new_tokens():
        got = tokenizer.convert_tokens_to_ids(text)
        if got != token_id:
            raise ValueError(f"{text} got id {got}, expected {token_id}")
