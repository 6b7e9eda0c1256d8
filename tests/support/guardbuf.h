/* tests/support/guardbuf.h -- copy test input so it ends exactly at an
 * inaccessible page: a decoder that reads one byte too far crashes (SIGSEGV)
 * instead of silently reading neighbouring heap memory.
 */
#ifndef SL_TEST_GUARDBUF_H
#define SL_TEST_GUARDBUF_H

#include <stddef.h>
#include <stdint.h>

struct guardbuf {
    void    *map;     /* whole mapping: data pages + one PROT_NONE page */
    size_t   maplen;
    uint8_t *p;       /* the copy; p + len is the first guarded byte */
    size_t   len;
};

/* Map and copy len bytes of src (len may be 0). Returns g->p, or NULL if
 * mmap/mprotect failed. */
uint8_t *guardbuf_new(struct guardbuf *g, const void *src, size_t len);
void guardbuf_free(struct guardbuf *g);

#endif
