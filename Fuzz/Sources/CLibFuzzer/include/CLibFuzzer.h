#ifndef LOMAD_CLIBFUZZER_H
#define LOMAD_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver, for programs that keep their own `main` (libclang_rt.fuzzer, LLVM 12+).
/// SwiftPM links every executable with its own entry point, so the fuzz targets start libFuzzer
/// through this call instead of linking libFuzzer's `main`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
