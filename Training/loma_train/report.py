"""Markdown table of exported folders' `training_summary.json`, for the README."""

from __future__ import annotations

import json
from pathlib import Path


def _cell(metrics: dict, key: str) -> str:
    return f"{metrics[key]:.3f}" if key in metrics else "-"


def results_table(folders: list[Path]) -> str:
    rows = ["| model | ratio | objective | params | MB | steps | step time s | train LM | held-out LM | "
            "train rep | held-out rep | train rep acc | held-out rep acc |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for folder in folders:
        summary = json.loads((folder / "training_summary.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        train, held_out = summary["final_train"], summary["final_held_out"]
        size = (folder / "model.safetensors").stat().st_size / 1e6
        rows.append(
            f"| `{folder.name}` | {config['loma']['compression_ratio']} | {config['loma']['objective']} | "
            f"{summary['parameters']:,} | {size:.1f} | {summary['steps']} | {summary['training_seconds']:.0f} | "
            f"{_cell(train, 'lm_loss')} | {_cell(held_out, 'lm_loss')} | {_cell(train, 'repetition_loss')} | "
            f"{_cell(held_out, 'repetition_loss')} | {_cell(train, 'repetition_accuracy')} | "
            f"{_cell(held_out, 'repetition_accuracy')} |")
    return "\n".join(rows)
