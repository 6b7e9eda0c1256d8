/* tests/support/guardbuf.c -- see guardbuf.h. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "tests/support/guardbuf.h"

uint8_t *
guardbuf_new(struct guardbuf *g, const void *src, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (len + page - 1) / page;
    uint8_t *base;

    if (data_pages == 0)
        data_pages = 1;
    memset(g, 0, sizeof(*g));
    g->maplen = (data_pages + 1) * page;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED) {
        g->map = NULL;
        return NULL;
    }
    base = g->map;
    if (mprotect(base + data_pages * page, page, PROT_NONE) != 0) {
        munmap(g->map, g->maplen);
        g->map = NULL;
        return NULL;
    }
    g->p = base + data_pages * page - len;
    g->len = len;
    if (len)
        memcpy(g->p, src, len);
    return g->p;
}

void
guardbuf_free(struct guardbuf *g)
{
    if (g->map)
        munmap(g->map, g->maplen);
    memset(g, 0, sizeof(*g));
}
