/* tests/test_client_partitioner.c -- libsluice's partitioner matches Kafka's
 * Java client: murmur2 values from Kafka's UtilsTest.testMurmur2, and
 * toPositive(murmur2(key)) % n. */
#include <criterion/criterion.h>
#include <string.h>
#include "client/sluice.h"

static const struct { const char *key; int32_t hash; } known[] = {
    { "21", -973932308 },
    { "foobar", -790332482 },
    { "a-little-bit-long-string", -985981536 },
    { "a-little-bit-longer-string", -1486304829 },
    { "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
    { "abc", 479470107 },
};

Test(partitioner, murmur2_known_values)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        cr_expect_eq(sluice_murmur2(known[i].key, strlen(known[i].key)), known[i].hash,
                     "murmur2(\"%s\") = %d, want %d", known[i].key,
                     sluice_murmur2(known[i].key, strlen(known[i].key)), known[i].hash);
}

Test(partitioner, every_tail_length)
{
    /* lengths 0..3 mod 4 all go through the tail switch */
    cr_expect_neq(sluice_murmur2("a", 1), sluice_murmur2("b", 1));
    cr_expect_neq(sluice_murmur2("ab", 2), sluice_murmur2("ba", 2));
    cr_expect_neq(sluice_murmur2("abcd", 4), sluice_murmur2("abce", 4));
}

Test(partitioner, positive_modulo)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        int32_t want = (int32_t)(((uint32_t)known[i].hash & 0x7fffffffu) % 7u);
        int32_t got = sluice_partition_for_key(known[i].key, strlen(known[i].key), 7);
        cr_expect_eq(got, want, "key %s: partition %d, want %d", known[i].key, got, want);
        cr_expect(got >= 0 && got < 7);
    }
    /* "foobar" is negative: toPositive, not abs() */
    cr_expect_eq(sluice_partition_for_key("foobar", 6, 3),
                 (int32_t)(((uint32_t)-790332482 & 0x7fffffffu) % 3u));
    cr_expect_eq(sluice_partition_for_key("x", 1, 0), -1);
}
