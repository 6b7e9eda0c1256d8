/* tests/test_crc32c.c -- CRC-32C against published vectors, and the SSE4.2
 * path against the table path on every length 0..1024 at every alignment,
 * so a bug in either (tail handling, misaligned heads) shows up here rather
 * than as "corrupt" batches at recovery.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include "storage/crc32c.h"
#include "tests/support/batchgen.h"

TestSuite(crc32c, .timeout = 60);

Test(crc32c, check_vector)
{
    const char *s = "123456789";
    cr_assert_eq(crc32c(0, s, 9), 0xE3069283u);
    cr_assert_eq(crc32c_sw(0, s, 9), 0xE3069283u);
}

Test(crc32c, zeros_and_ones)
{
    uint8_t z[32], f[32], inc[32], dec[32];
    memset(z, 0, sizeof(z));
    memset(f, 0xff, sizeof(f));
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    /* RFC 3720 (iSCSI) appendix B.4 */
    cr_assert_eq(crc32c(0, z, 32), 0x8A9136AAu);
    cr_assert_eq(crc32c(0, f, 32), 0x62A8AB43u);
    cr_assert_eq(crc32c(0, inc, 32), 0x46DD794Eu);
    cr_assert_eq(crc32c(0, dec, 32), 0x113FDB5Cu);
    cr_assert_eq(crc32c_sw(0, z, 32), 0x8A9136AAu);
    cr_assert_eq(crc32c_sw(0, f, 32), 0x62A8AB43u);
    cr_assert_eq(crc32c_sw(0, inc, 32), 0x46DD794Eu);
    cr_assert_eq(crc32c_sw(0, dec, 32), 0x113FDB5Cu);
}

Test(crc32c, empty_is_identity)
{
    cr_assert_eq(crc32c(0, "", 0), 0u);
    cr_assert_eq(crc32c(0x12345678u, "x", 0), 0x12345678u);
    cr_assert_eq(crc32c_sw(0x12345678u, "x", 0), 0x12345678u);
}

Test(crc32c, hw_flag_is_stable)
{
    int a = crc32c_hw_available();
    cr_assert(a == 0 || a == 1);
    cr_assert_eq(crc32c_hw_available(), a);
}

/* Every length 0..1024 at 16 misalignments: the dispatching crc32c equals
 * crc32c_sw, and extending in two pieces equals one pass. */
Test(crc32c, hw_equals_sw_all_lengths_and_alignments)
{
    static uint8_t buf[1024 + 64];
    bg_fill(buf, sizeof(buf), 42);
    for (size_t off = 0; off < 16; off++) {
        for (size_t len = 0; len <= 1024; len++) {
            uint32_t a = crc32c(0, buf + off, len);
            uint32_t b = crc32c_sw(0, buf + off, len);
            cr_assert_eq(a, b, "len %zu off %zu: %08x vs %08x", len, off, a, b);
        }
    }
    for (size_t len = 0; len <= 1024; len += 7) {
        uint32_t whole = crc32c_sw(0, buf + 3, len);
        for (size_t cut = 0; cut <= len; cut += 13) {
            uint32_t hw = crc32c(crc32c(0, buf + 3, cut), buf + 3 + cut, len - cut);
            uint32_t sw = crc32c_sw(crc32c_sw(0, buf + 3, cut), buf + 3 + cut, len - cut);
            cr_assert_eq(hw, whole, "hw split len %zu cut %zu", len, cut);
            cr_assert_eq(sw, whole, "sw split len %zu cut %zu", len, cut);
        }
    }
}

/* A bitwise reference, independent of both implementations. */
static uint32_t
crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

Test(crc32c, matches_bitwise_reference_random)
{
    static uint8_t buf[4096 + 8];
    for (uint64_t seed = 1; seed <= 50; seed++) {
        size_t len = (size_t)(seed * 977 % 4096), off = (size_t)(seed % 8);
        bg_fill(buf, sizeof(buf), seed);
        uint32_t want = crc_bitwise(buf + off, len);
        cr_assert_eq(crc32c(0, buf + off, len), want, "seed %lu", (unsigned long)seed);
        cr_assert_eq(crc32c_sw(0, buf + off, len), want, "seed %lu", (unsigned long)seed);
    }
}

/* Buffers long enough for the three-chain hardware path (3 x 4096 bytes per
 * step), at lengths around its block edges and odd alignments. */
Test(crc32c, long_buffers_match_table)
{
    size_t n = 64 * 1024 + 64;
    uint8_t *buf = malloc(n);
    uint64_t x = 0x9E3779B97F4A7C15ull;

    cr_assert_not_null(buf);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    size_t lens[] = { 12287, 12288, 12289, 24575, 24576, 24577, 36864 + 5, 65536 };
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
        for (size_t off = 0; off < 8; off += 3)
            cr_assert_eq(crc32c(0x1234, buf + off, lens[k]), crc32c_sw(0x1234, buf + off, lens[k]),
                         "len %zu offset %zu", lens[k], off);
    free(buf);
}
