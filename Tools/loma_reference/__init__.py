"""Independent numpy reference of the LoMA memory pass (docs/loma-spec.md section 3) and its tools."""
