// The declaration in include/CLibFuzzer.h is the whole module; libFuzzer itself is linked by
// -sanitize=fuzzer. SwiftPM needs one source file to build a C target.
#include "CLibFuzzer.h"
