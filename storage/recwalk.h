/* storage/recwalk.h -- a check-only walk of an uncompressed records section.
 *
 * What the broker needs from the records of a compressed batch at Produce
 * time is a verdict, not the records: recwalk_check answers exactly what
 * walking the section with rec_iter_next (storage/record.h) and checking
 * offset deltas 0,1,2... would answer, without filling a struct rec_record
 * per record and without a function call per field. Every record must be
 * well formed:
 *
 *   length          varint (<= 5 bytes, fits 32 bits), 1 <= length <= bytes left;
 *                   every field below stays inside those length bytes
 *   attributes      1 byte (any value)
 *   timestampDelta  varlong (<= 10 bytes)
 *   offsetDelta     varint == the record's index (else SL_ERR_INVALID_RECORD,
 *                   reported only once the whole record parsed)
 *   key, value      varint length >= -1 (-1 = null), then that many bytes
 *   headerCount     varint >= 0, then per header: key length >= 0 + bytes,
 *                   value length >= -1 + bytes
 *                   ... and the record ends exactly at its length.
 *
 * count records, then nothing: fewer or trailing bytes are corrupt.
 * Pure function over bytes; reads only inside p[0..len).
 */
#ifndef SL_RECWALK_H
#define SL_RECWALK_H

#include <stddef.h>
#include <stdint.h>

/* 0 if p[0..len) holds exactly count (> 0) well-formed records with offset
 * deltas 0..count-1; SL_ERR_INVALID_RECORD for the first well-formed record
 * whose offset delta is wrong; SL_ERR_CORRUPT_MESSAGE for anything else
 * (malformed record before that, too few records, trailing bytes, len 0). */
int recwalk_check(const uint8_t *p, size_t len, int32_t count);

#endif
