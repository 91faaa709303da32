"""The committed delta of a fine-tuned model (`Models/deltas/NAME/`), read and checked.

Format `lomad-delta/1` (Models/README.md): `delta.json` names the base package and its GGUF file
with a sha256, the LoRA rank/alpha/targets, how many embedding rows were appended, which tensors
are carried whole, and the sha256 of the merged `model.safetensors`; `delta.safetensors` holds
`<module>.lora_A` `[rank, in]`, `<module>.lora_B` `[out, rank]`, `model.embed_tokens.new_rows`
(and `lm_head.new_rows` for untied models) and the replaced tensors; `config.json` and the
tokenizer files are the result's own.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from Tools.loma_reference.safetensors_np import SafetensorsError, StoredTensor, read_file

FORMAT = "lomad-delta/1"
#: Files of the result copied from the delta as they are.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")
_ATTENTION = {"q_proj", "k_proj", "v_proj", "o_proj"}
_MLP = {"gate_proj", "up_proj", "down_proj"}
_LORA_NAME = re.compile(r"^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_([AB])$")


class DeltaError(ValueError):
    """The delta folder is incomplete or inconsistent; the message names the file and field."""


@dataclass(frozen=True)
class Base:
    pypi: str
    file: str
    sha256: str

    @property
    def requirement(self) -> tuple[str, str]:
        """(`distribution`, `version`) of the pinned `name==version` requirement."""
        name, separator, version = self.pypi.partition("==")
        return name.strip(), version.strip()


@dataclass
class Delta:
    directory: Path
    name: str
    base: Base
    rank: int
    alpha: float
    targets: list[str]
    new_token_rows: int
    replaced: list[str]
    result: dict[str, str]
    raw: dict
    tensors: dict[str, StoredTensor] = field(repr=False, default_factory=dict)

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def lora_factors(self, weight_name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(A, B) in float64 for `model.layers.i.<part>.<proj>.weight`, or None if not adapted."""
        module = weight_name.removesuffix(".weight")
        a = self.tensors.get(f"{module}.lora_A")
        b = self.tensors.get(f"{module}.lora_B")
        if a is None or b is None:
            return None
        return a.as_float64(), b.as_float64()

    def config(self) -> dict:
        return json.loads((self.directory / "config.json").read_text(encoding="utf-8"))

    def save_result(self, sha256: str) -> None:
        """Writes `result` into delta.json (prepare-model --record), keeping every other field."""
        self.raw["result"] = {"model.safetensors": sha256}
        text = json.dumps(self.raw, indent=2, ensure_ascii=False) + "\n"
        (self.directory / "delta.json").write_text(text, encoding="utf-8")
        self.result = dict(self.raw["result"])


def _require(document: dict, key: str, kind: type, where: str):
    value = document.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise DeltaError(f"{where}: field {key!r} is missing or not a {kind.__name__}")
    return value


def load(directory: str | os.PathLike) -> Delta:
    """Reads `delta.json` and `delta.safetensors` of `directory` and checks they agree."""
    directory = Path(directory)
    manifest = directory / "delta.json"
    if not manifest.is_file():
        raise DeltaError(f"{manifest}: no such file (is {directory} a committed delta folder?)")
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DeltaError(f"{manifest}: malformed JSON ({error})") from error
    where = str(manifest)
    if raw.get("format") != FORMAT:
        raise DeltaError(f"{where}: format is {raw.get('format')!r}, expected {FORMAT!r}")
    base_doc = _require(raw, "base", dict, where)
    base = Base(*(_require(base_doc, key, str, f"{where} base") for key in ("pypi", "file", "sha256")))
    if not base.requirement[1]:
        raise DeltaError(f"{where}: base.pypi {base.pypi!r} must pin a version (name==version)")
    lora = _require(raw, "lora", dict, where)
    rank = _require(lora, "rank", int, f"{where} lora")
    alpha = lora.get("alpha")
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or rank <= 0:
        raise DeltaError(f"{where}: lora.rank must be a positive integer and lora.alpha a number")
    targets = _require(lora, "targets", list, f"{where} lora")
    unknown = sorted(set(targets) - _ATTENTION - _MLP)
    if unknown:
        raise DeltaError(f"{where}: lora.targets has unknown projections {unknown}")
    new_rows = _require(raw, "new_token_rows", int, where)
    replaced = raw.get("replaced", [])
    result = raw.get("result", {}) or {}
    if not isinstance(replaced, list) or not isinstance(result, dict):
        raise DeltaError(f"{where}: 'replaced' must be a list and 'result' an object")
    for required in ("config.json", "delta.safetensors"):
        if not (directory / required).is_file():
            raise DeltaError(f"{directory / required}: missing from the delta")
    try:
        tensors = read_file(directory / "delta.safetensors")
    except SafetensorsError as error:
        raise DeltaError(str(error)) from error
    delta = Delta(directory, str(raw.get("name", directory.name)), base, rank, float(alpha), list(targets),
                  new_rows, list(replaced), dict(result), raw, tensors)
    _check_tensors(delta)
    return delta


def _check_tensors(delta: Delta) -> None:
    where = delta.directory / "delta.safetensors"
    allowed = {"model.embed_tokens.new_rows", "lm_head.new_rows", *delta.replaced}
    for name, tensor in delta.tensors.items():
        match = _LORA_NAME.match(name)
        if match:
            _, part, projection, which = match.groups()
            if projection not in delta.targets or projection not in (_ATTENTION if part == "self_attn" else _MLP):
                raise DeltaError(f"{where}: {name} is not one of lora.targets {delta.targets}")
            rank_axis = 0 if which == "A" else 1
            if len(tensor.shape) != 2 or tensor.shape[rank_axis] != delta.rank:
                raise DeltaError(f"{where}: {name} has shape {list(tensor.shape)}, expected rank {delta.rank} on axis {rank_axis}")
            partner = name[:-1] + ("B" if which == "A" else "A")
            if partner not in delta.tensors:
                raise DeltaError(f"{where}: {name} has no {partner}")
        elif name not in allowed:
            raise DeltaError(f"{where}: unexpected tensor {name!r} (not LoRA, new rows or listed in 'replaced')")
    missing = [name for name in delta.replaced if name not in delta.tensors]
    if missing:
        raise DeltaError(f"{where}: 'replaced' names {missing} but the file lacks them")
    rows = delta.tensors.get("model.embed_tokens.new_rows")
    if delta.new_token_rows and (rows is None or rows.shape[0] != delta.new_token_rows):
        found = "none" if rows is None else rows.shape[0]
        raise DeltaError(f"{where}: new_token_rows is {delta.new_token_rows} but model.embed_tokens.new_rows has {found}")
