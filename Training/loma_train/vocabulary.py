"""The byte-level vocabulary: ids 0-255 are bytes, then the specials, then the memory tokens.

Text is therefore tokenised by `text.encode("utf-8")` with no merges; `tokenizer.py` writes the
same mapping as a `tokenizer.json` for `transformers.AutoTokenizer`.
"""

from __future__ import annotations

from dataclasses import dataclass

BYTE_TOKENS = 256
END_OF_TEXT = "<|endoftext|>"
REPETITION = "<|repeat|>"


@dataclass(frozen=True)
class Vocabulary:
    memory_tokens: int

    @property
    def end_of_text_id(self) -> int:
        return BYTE_TOKENS

    @property
    def repetition_token_id(self) -> int:
        """The marker that starts a repetition zone (loma-spec 3.4, `loma.repetition_token_id`)."""
        return BYTE_TOKENS + 1

    @property
    def memory_token_ids(self) -> list[int]:
        """One distinct id per memory slot, so slot j learns its own embedding."""
        first = BYTE_TOKENS + 2
        return list(range(first, first + self.memory_tokens))

    @property
    def size(self) -> int:
        return BYTE_TOKENS + 2 + self.memory_tokens

    def special_tokens(self) -> list[tuple[int, str]]:
        return ([(self.end_of_text_id, END_OF_TEXT), (self.repetition_token_id, REPETITION)]
                + [(token_id, f"<|memory_{slot}|>") for slot, token_id in enumerate(self.memory_token_ids)])
