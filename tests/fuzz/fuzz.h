/* tests/fuzz/fuzz.h -- the libFuzzer entry points every target defines.
 *
 * Each fuzz_*.c is built twice: with clang -fsanitize=fuzzer (scripts/fuzz,
 * `make fuzz`) and with gcc plus replay_main.c (scripts/fuzz-replay, run by
 * `make test`), which feeds it the files of corpus/<target>/ and
 * regression/<target>/ without libFuzzer.
 */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
