"""Independent numpy reference of the LoMA memory pass (DESIGN.md section 3) and its tools."""
