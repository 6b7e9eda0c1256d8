/* client/murmur2.c -- Kafka's default partitioner for keyed records.
 *
 * A transcription of org.apache.kafka.common.utils.Utils.murmur2 (seed
 * 0x9747b28c, m 0x5bd1e995, r 24) with Java's signed 32-bit wrap-around done
 * in uint32_t, and BuiltInPartitioner.partitionForKey:
 * toPositive(murmur2(key)) % numPartitions, toPositive(n) = n & 0x7fffffff.
 * Keyed records therefore land on the same partitions as with the Java
 * client and librdkafka's "murmur2_random" partitioner.
 */
#include "client/sluice_int.h"

int32_t
sluice_murmur2(const void *key, size_t len)
{
    const uint8_t *data = key;
    const uint32_t m = 0x5bd1e995u;
    const int r = 24;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t i, len4 = len / 4;

    for (i = 0; i < len4; i++) {
        const uint8_t *d = data + i * 4;
        uint32_t k = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len % 4) {
    case 3: h ^= (uint32_t)data[(len & ~(size_t)3) + 2] << 16; /* fall through */
    case 2: h ^= (uint32_t)data[(len & ~(size_t)3) + 1] << 8;  /* fall through */
    case 1: h ^= (uint32_t)data[len & ~(size_t)3];
            h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t
sluice_partition_for_key(const void *key, size_t len, int32_t partition_count)
{
    if (partition_count <= 0)
        return -1;
    return (int32_t)(((uint32_t)sluice_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partition_count);
}
