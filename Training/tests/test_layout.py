"""Checks of the training layout against docs/loma-spec.md 3.4, written from the design's wording.

    cd Training && python -m unittest discover -s tests
"""

from __future__ import annotations

import unittest

import torch

from loma_train.layout import causal_layout, loma_layout
from loma_train.vocabulary import Vocabulary

SEGMENTS, TC, RATIO = 3, 8, 4
T = TC // RATIO


def zone_slots(zone: str, segment: int) -> list[int]:
    """Slots of a zone in R_0 M_0 E_0 R_1 ... written out independently of layout.py."""
    base = segment * (2 * TC + T)
    offset, size = {"R": (0, TC), "M": (TC, T), "E": (TC + T, TC)}[zone]
    return list(range(base + offset, base + offset + size))


class LoMALayoutTests(unittest.TestCase):
    def setUp(self) -> None:
        self.vocabulary = Vocabulary(memory_tokens=T)
        self.layout = loma_layout(SEGMENTS, TC, RATIO, self.vocabulary)
        self.raw = torch.arange(100, 100 + self.layout.window_length)[None]
        self.batch = self.layout.batch(self.raw)

    def visible(self, query: int) -> set[int]:
        return set(torch.nonzero(self.layout.mask[query]).flatten().tolist())

    def test_reading_zone_sees_earlier_memory_and_itself_causally(self) -> None:
        for i in range(SEGMENTS):
            earlier_memory = {s for j in range(i) for s in zone_slots("M", j)}
            for k, slot in enumerate(zone_slots("R", i)):
                self.assertEqual(self.visible(slot), earlier_memory | set(zone_slots("R", i)[:k + 1]))

    def test_memory_zone_sees_earlier_memory_its_segment_and_all_of_itself(self) -> None:
        for i in range(SEGMENTS):
            expected = {s for j in range(i) for s in zone_slots("M", j)} | set(zone_slots("R", i)) | set(zone_slots("M", i))
            for slot in zone_slots("M", i):
                self.assertEqual(self.visible(slot), expected)

    def test_repetition_zone_sees_its_memory_and_itself_causally(self) -> None:
        for i in range(SEGMENTS):
            for k, slot in enumerate(zone_slots("E", i)):
                self.assertEqual(self.visible(slot), set(zone_slots("M", i)) | set(zone_slots("E", i)[:k + 1]))

    def test_tokens_positions_and_labels(self) -> None:
        ids, positions = self.batch.input_ids[0], self.batch.positions[0]
        raw = self.raw[0]
        for i in range(SEGMENTS):
            segment = raw[i * TC:(i + 1) * TC]
            self.assertEqual(ids[zone_slots("R", i)].tolist(), segment.tolist())
            self.assertEqual(positions[zone_slots("R", i)].tolist(), list(range(i * TC, (i + 1) * TC)))
            self.assertEqual(ids[zone_slots("M", i)].tolist(), self.vocabulary.memory_token_ids)
            self.assertEqual(positions[zone_slots("M", i)].tolist(),
                             [i * TC + (j + 1) * RATIO - 1 for j in range(T)])
            repetition = ids[zone_slots("E", i)].tolist()
            self.assertEqual(repetition, [self.vocabulary.repetition_token_id] + segment[:-1].tolist())
            self.assertEqual(positions[zone_slots("E", i)].tolist(), list(range(i * TC, (i + 1) * TC)))
        reading = [s for i in range(SEGMENTS) for s in zone_slots("R", i)]
        self.assertEqual(self.batch.lm_slots.tolist(), reading)
        self.assertEqual(self.batch.lm_labels[0].tolist(), raw[1:SEGMENTS * TC + 1].tolist())
        self.assertEqual(self.batch.repetition_labels[0].tolist(), raw[:SEGMENTS * TC].tolist())

    def test_wrong_window_length_is_refused(self) -> None:
        with self.assertRaisesRegex(ValueError, "layout needs"):
            self.layout.batch(self.raw[:, :-1])


class CausalLayoutTests(unittest.TestCase):
    def test_plain_lm_is_causal_over_the_same_raw_tokens(self) -> None:
        layout = causal_layout(SEGMENTS, TC, Vocabulary(memory_tokens=T))
        raw = torch.arange(layout.window_length)[None]
        batch = layout.batch(raw)
        n = SEGMENTS * TC
        self.assertTrue(torch.equal(layout.mask, torch.ones(n, n, dtype=torch.bool).tril()))
        self.assertEqual(batch.input_ids[0].tolist(), list(range(n)))
        self.assertEqual(batch.lm_labels[0].tolist(), list(range(1, n + 1)))
        self.assertEqual(batch.repetition_slots.numel(), 0)


if __name__ == "__main__":
    unittest.main()
