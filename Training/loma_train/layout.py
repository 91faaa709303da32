"""Where every token of a training sequence sits: zones, positions, attention mask, labels.

A LoMA training sequence of `n` segments (docs/loma-spec.md 3.4) is laid out as
`R_0 M_0 E_0 R_1 M_1 E_1 ... R_{n-1} M_{n-1} E_{n-1}`:

* `R_i` reading zone: the raw tokens of segment i at positions `p_i .. p_i+tc-1` (`p_i = i*tc`);
  it sees every earlier memory zone `M_{<i}` and itself causally, never raw tokens of earlier
  segments, exactly what a client holds after compressing those segments.
* `M_i` memory zone: `t = tc/ratio` memory tokens at positions `p_i + (j+1)*ratio - 1`; it sees
  `M_{<i}` (as context), all of `R_i` and all of `M_i` (no mask inside the block), the three
  parts lomad's memory pass attends to (loma-spec 3.2).
* `E_i` repetition zone: the marker token then `R_i` shifted right, positions as `R_i`, labels
  `R_i`; it sees `M_i` and itself causally, so it can only repeat what the memory holds.

The layout is the same for every sequence, so it is built once and applied to a batch of raw
windows by gathering. The plain-LM baseline uses the same interface with one causal zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .vocabulary import Vocabulary

# Kinds of slot in the layout (for building ids).
_RAW, _MEMORY, _MARKER = 0, 1, 2


@dataclass
class Batch:
    """Model inputs for a batch plus the slots and targets of each loss term."""

    input_ids: torch.Tensor          # [batch, seq]
    positions: torch.Tensor          # [batch, seq]
    mask: torch.Tensor               # [seq, seq] bool, True = may attend
    lm_slots: torch.Tensor           # [k] slots whose logits predict the next raw token
    lm_labels: torch.Tensor          # [batch, k]
    repetition_slots: torch.Tensor   # [r] slots of the repetition zones (empty for plain LM)
    repetition_labels: torch.Tensor  # [batch, r]


class SequenceLayout:
    """Static description of one training sequence; `window_length` raw tokens feed it."""

    def __init__(self, kind: list[int], source: list[int], positions: list[int], mask: torch.Tensor,
                 lm_slots: list[int], lm_sources: list[int],
                 repetition_slots: list[int], repetition_sources: list[int], window_length: int,
                 vocabulary: Vocabulary) -> None:
        self.kind = torch.tensor(kind)
        self.source = torch.tensor(source)
        memory = vocabulary.memory_token_ids
        self.fixed_ids = torch.tensor([memory[src] if k == _MEMORY else vocabulary.repetition_token_id
                                       for k, src in zip(kind, source)])
        self.positions = torch.tensor(positions)
        self.mask = mask
        self.lm_slots = torch.tensor(lm_slots)
        self.lm_sources = torch.tensor(lm_sources)
        self.repetition_slots = torch.tensor(repetition_slots, dtype=torch.long)
        self.repetition_sources = torch.tensor(repetition_sources, dtype=torch.long)
        self.window_length = window_length
        self.vocabulary = vocabulary

    @property
    def length(self) -> int:
        return len(self.kind)

    def batch(self, windows: torch.Tensor, device: torch.device | str = "cpu") -> Batch:
        """`windows` `[batch, window_length]` raw token ids."""
        if windows.shape[1] != self.window_length:
            raise ValueError(f"windows hold {windows.shape[1]} tokens, the layout needs {self.window_length}")
        ids = torch.where(self.kind == _RAW, windows[:, self.source], self.fixed_ids)
        size = windows.shape[0]
        return Batch(
            input_ids=ids.to(device),
            positions=self.positions.expand(size, -1).to(device),
            mask=self.mask.to(device),
            lm_slots=self.lm_slots.to(device),
            lm_labels=windows[:, self.lm_sources].to(device),
            repetition_slots=self.repetition_slots.to(device),
            repetition_labels=windows[:, self.repetition_sources].to(device),
        )


def loma_layout(segments: int, segment_length: int, ratio: int, vocabulary: Vocabulary) -> SequenceLayout:
    tc, t = segment_length, segment_length // ratio
    kind: list[int] = []
    source: list[int] = []      # raw index for _RAW slots, memory slot j for _MEMORY slots
    positions: list[int] = []
    zones: list[tuple[str, int, int]] = []   # (zone, segment, first slot)
    lm_slots, lm_sources, rep_slots, rep_sources = [], [], [], []
    for i in range(segments):
        p = i * tc
        zones.append(("R", i, len(kind)))
        for k in range(tc):
            lm_slots.append(len(kind))
            lm_sources.append(p + k + 1)
            kind.append(_RAW); source.append(p + k); positions.append(p + k)
        zones.append(("M", i, len(kind)))
        for j in range(t):
            kind.append(_MEMORY); source.append(j); positions.append(p + (j + 1) * ratio - 1)
        zones.append(("E", i, len(kind)))
        for k in range(tc):
            rep_slots.append(len(kind))
            rep_sources.append(p + k)
            if k == 0:
                kind.append(_MARKER); source.append(0)
            else:
                kind.append(_RAW); source.append(p + k - 1)
            positions.append(p + k)

    mask = torch.zeros(len(kind), len(kind), dtype=torch.bool)
    start = {(zone, i): first for zone, i, first in zones}

    def block(zone: str, i: int) -> slice:
        size = t if zone == "M" else tc
        return slice(start[(zone, i)], start[(zone, i)] + size)

    causal = torch.ones(tc, tc, dtype=torch.bool).tril()
    for i in range(segments):
        for earlier in range(i):
            mask[block("R", i), block("M", earlier)] = True
            mask[block("M", i), block("M", earlier)] = True
        mask[block("R", i), block("R", i)] = causal
        mask[block("M", i), block("R", i)] = True
        mask[block("M", i), block("M", i)] = True
        mask[block("E", i), block("M", i)] = True
        mask[block("E", i), block("E", i)] = causal
    return SequenceLayout(kind, source, positions, mask, lm_slots, lm_sources, rep_slots, rep_sources,
                          segments * tc + 1, vocabulary)


def causal_layout(segments: int, segment_length: int, vocabulary: Vocabulary) -> SequenceLayout:
    """The plain-LM baseline: the same raw tokens, full causal attention, no memory."""
    n = segments * segment_length
    return SequenceLayout([_RAW] * n, list(range(n)), list(range(n)),
                          torch.ones(n, n, dtype=torch.bool).tril(),
                          list(range(n)), list(range(1, n + 1)), [], [], n + 1, vocabulary)
