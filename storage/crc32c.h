/* storage/crc32c.h -- CRC-32C (Castagnoli), the checksum of RecordBatch v2.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once, at
 * first use), a slicing-by-8 table otherwise. Both give identical results;
 * crc32c_sw() is exported so tests can compare them.
 */
#ifndef SL_CRC32C_H
#define SL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) over len bytes of buf. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* 1 if the hardware path is in use. */
int crc32c_hw_available(void);

#endif
