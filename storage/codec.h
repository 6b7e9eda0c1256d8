/* storage/codec.h -- the four Kafka compression codecs for RecordBatch v2.
 *
 * In a compressed batch (attributes & REC_ATTR_CODEC_MASK != 0) everything
 * after the 61-byte header is one compressed blob of the records. Formats:
 *
 *   GZIP    RFC 1952 gzip (deflate + gzip header/trailer), as Java's
 *           GZIPOutputStream writes; concatenated members are accepted.
 *   SNAPPY  raw snappy (what librdkafka writes and what we write), or the
 *           xerial/snappy-java framing the Java client writes:
 *           "\x82SNAPPY\0" + int32 version + int32 compat, then blocks of
 *           [int32 BE compressed length][raw snappy block].
 *   LZ4     the LZ4 frame format (KIP-57); concatenated frames accepted
 *           (skippable frames too). Parsed in codec.c, blocks decoded with
 *           LZ4_decompress_safe: accepts exactly what liblz4's
 *           LZ4F_decompress accepts (checksums verified). We write 64 KiB
 *           independent blocks, no checksums, no content size (what every
 *           Kafka client can read).
 *   ZSTD    zstd frames (concatenated frames accepted).
 *
 * Decompression is bounded: output grows in steps and never past max_out
 * (an input that would expand further is refused as corrupt), so a bomb
 * costs at most about 2 * (out->len + max_out) of buffer (sl_buf doubles).
 * Declared sizes (a snappy length prefix, an LZ4/zstd content size) are
 * checked against max_out before anything is reserved for them. Beyond the
 * output buffer, the codec libraries keep their own state: small for gzip,
 * none for snappy and lz4; for a zstd frame without a content size, a
 * window buffer of the declared window (at most 128 MiB, the library
 * default limit that Kafka's zstd-jni decoder also applies; malloc'ed,
 * touched only as far as output is actually produced).
 * Contexts are created per call (no global state; thread-safe).
 *
 * Errors: 0; SL_ERR_CORRUPT_MESSAGE for malformed, truncated or oversized
 * input; SL_ERR_INVALID_RECORD for records whose offset deltas are not
 * 0,1,2...; SL_ERR_UNSUPPORTED_COMPRESSION_TYPE for codec values other than
 * REC_CODEC_*; SL_ERR__NOMEM; SL_ERR__INVALID_ARG for bad arguments.
 */
#ifndef SL_CODEC_H
#define SL_CODEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "storage/buf.h"

/* Pass as level to get each codec's default: gzip 6, lz4 0 (fast; Kafka
 * 3.8+ defaults to 9 = HC), zstd 3. Other levels are clamped to the codec's
 * range (gzip 0..9, lz4 up to 12, zstd min..22); snappy has no levels. */
#define CODEC_LEVEL_DEFAULT INT_MIN

/* "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *codec_name(int codec);
/* Kafka config name -> REC_CODEC_*; "uncompressed" and "none" give
 * REC_CODEC_NONE. -1 for anything else (including "producer"). */
int codec_from_name(const char *name);

/* Append the decompression of in[0..in_len) to out. Produces at most
 * max_out bytes; more is SL_ERR_CORRUPT_MESSAGE. On error out->len is
 * restored to its value at entry (capacity may have grown, bounded as above).
 * codec REC_CODEC_NONE copies. */
int codec_decompress(int codec, const uint8_t *in, size_t in_len,
                     struct sl_buf *out, size_t max_out);

/* Append the compression of in[0..in_len) to out (REC_CODEC_NONE copies).
 * On error out->len is restored. */
int codec_compress(int codec, const uint8_t *in, size_t in_len,
                   struct sl_buf *out, int level);

/* The uncompressed records section of a whole batch of exactly size bytes,
 * fully validated as codec_validate_batch does. *records points into batch
 * when the batch is uncompressed, else into scratch (reset first; valid
 * until scratch is next changed). *count gets the record count. */
int codec_batch_records(const uint8_t *batch, size_t size, size_t max_uncompressed,
                        struct sl_buf *scratch, struct sl_slice *records, int32_t *count);

/* Full Produce-time validation of one batch of exactly size bytes: header,
 * CRC and counts (rec_validate_batch), then, for a compressed batch, the
 * records decompressed into scratch (reset first, bounded by
 * max_uncompressed) and walked (recwalk_check, storage/recwalk.h): every
 * record well formed, offset deltas 0,1,2..., count == header record
 * count, no trailing bytes. */
int codec_validate_batch(const uint8_t *batch, size_t size, size_t max_uncompressed,
                         struct sl_buf *scratch);

/* Append to out a copy of the batch whose records are re-encoded with
 * new_codec (REC_CODEC_NONE = uncompressed) at level: header fields are kept
 * except the attributes' codec bits, the length and the CRC. The input is
 * validated first (codec_validate_batch). scratch as above; batch must not
 * live in out or scratch, and out != scratch (SL_ERR__INVALID_ARG). On error
 * out->len is restored. Recompressing to NONE and back from NONE reproduces
 * an uncompressed batch byte for byte. */
int codec_recompress_batch(const uint8_t *batch, size_t size, int new_codec, int level,
                           struct sl_buf *out, struct sl_buf *scratch,
                           size_t max_uncompressed);

#endif
