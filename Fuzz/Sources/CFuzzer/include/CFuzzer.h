// libFuzzer's driver, called from the fuzzer's own main (SwiftPM names an executable's
// entry point itself, so libFuzzer's main cannot be used).
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
