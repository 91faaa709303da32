"""LoMA training recipe: corpus, byte-level tokenizer, a small Llama, the docs/loma-spec.md 3.4 objective,
and export to a Hugging Face folder that both transformers and lomad load."""
