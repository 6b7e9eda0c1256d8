/* storage/crc32c.c -- CRC-32C, hardware (SSE4.2) and table implementations.
 *
 * The table path is slicing-by-8 over the reflected polynomial 0x82F63B78.
 * The hardware path runs the crc32q instruction 8 bytes at a time; it is
 * compiled with a target attribute so the rest of the build needs no -msse4.2,
 * and chosen at run time by cpuid.
 */
#include <pthread.h>
#include <string.h>
#include "storage/crc32c.h"

#define POLY 0x82F63B78u

static uint32_t crc_table[8][256];
/* Hardware path, long buffers: three independent crc32 chains over three
 * adjacent blocks of SHIFT_BLOCK bytes (the instruction has a latency of 3
 * cycles and a throughput of 1, so one chain leaves two thirds idle), then
 * the chains are joined. Joining needs "the register after SHIFT_BLOCK more
 * zero bytes", a linear map kept as four byte tables. */
#define SHIFT_BLOCK 4096
static uint32_t crc_shift[4][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw;

static void
crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = crc_table[0][n];
        for (int k = 1; k < 8; k++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[k][n] = c;
        }
    }
    /* crc_shift: the raw register advanced over SHIFT_BLOCK zero bytes */
    for (int bit = 0; bit < 32; bit++) {
        uint32_t c = 1u << bit;
        for (int i = 0; i < SHIFT_BLOCK; i++)
            c = crc_table[0][c & 0xff] ^ (c >> 8);
        for (int k = 0; k < 4; k++)
            if (bit / 8 == k)
                for (uint32_t b = 0; b < 256; b++)
                    if (b & (1u << (bit % 8)))
                        crc_shift[k][b] ^= c;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2") != 0;
#endif
}

uint32_t
crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;                      /* little-endian host assumed (x86_64, aarch64) */
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* The raw CRC register r advanced over SHIFT_BLOCK zero bytes. */
static inline uint32_t
shift_block(uint32_t r)
{
    return crc_shift[0][r & 0xff] ^ crc_shift[1][(r >> 8) & 0xff] ^
           crc_shift[2][(r >> 16) & 0xff] ^ crc_shift[3][r >> 24];
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t c = ~crc;

    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 3 * SHIFT_BLOCK) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < SHIFT_BLOCK; i += 8) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p + i, 8);
            memcpy(&w1, p + SHIFT_BLOCK + i, 8);
            memcpy(&w2, p + 2 * SHIFT_BLOCK + i, 8);
            c = __builtin_ia32_crc32di(c, w0);
            c1 = __builtin_ia32_crc32di(c1, w1);
            c2 = __builtin_ia32_crc32di(c2, w2);
        }
        c = shift_block((uint32_t)c) ^ (uint32_t)c1;
        c = shift_block((uint32_t)c) ^ (uint32_t)c2;
        p += 3 * SHIFT_BLOCK;
        len -= 3 * SHIFT_BLOCK;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#endif

int
crc32c_hw_available(void)
{
    pthread_once(&crc_once, crc_init);
    return crc_hw;
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
    if (crc_hw)
        return crc32c_hw(crc, buf, len);
#endif
    return crc32c_sw(crc, buf, len);
}
