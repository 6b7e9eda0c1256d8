/* tests/fuzz/fuzz_conf.c -- the configuration parser on arbitrary text.
 *
 * Per input:
 *   - conf_load() of a properties file holding exactly the input bytes
 *     (comments, separators, continuations, escapes, every key's value
 *     parser), then every broker key formatted back (conf_broker_describe);
 *   - conf_load() with the input's lines as --override k=v arguments;
 *   - conf_parse_listeners() on the input as a string;
 *   - conf_topic_set() and conf_broker_set() with name/value split from the
 *     input at the first '=' (else a key picked by the first byte, the
 *     whole input as value), then every topic key formatted back.
 * Nothing may crash; errors must leave a message.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "server/conf.h"
#include "storage/log.h"
#include "tests/fuzz/fuzz.h"

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz_conf: invariant failed: %s (line %d)\n", #cond, __LINE__); \
    abort(); } } while (0)

static char path[256];
static struct sl_conf conf, base;

static void
remove_file(void)
{
    if (path[0])
        unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct stat st;
    (void)argc; (void)argv;

    sl_log_set_level(SL_LOG_ERROR);
    const char *dir = (stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0)
                      ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof(path), "%s/sluice-fuzz-conf-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    close(fd);
    atexit(remove_file);
    conf_defaults(&base);
    return 0;
}

static void
describe_all(const struct sl_conf *c)
{
    size_t n;
    char buf[8192];
    struct conf_desc d;

    conf_broker_keys(&n);
    for (size_t i = 0; i < n; i++)
        CHECK(conf_broker_describe(c, i, buf, sizeof(buf), &d) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    int fd, rc;
    char *s;

    if (size > 64 * 1024)
        return 0;
    /* 1. as a properties file */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(write(fd, data, size) == (ssize_t)size);
    close(fd);
    err[0] = 0;
    rc = conf_load(&conf, path, 0, NULL, err, sizeof(err));
    if (rc == 0)
        describe_all(&conf);
    else
        CHECK(err[0] != 0);

    /* NUL-terminated copy for the string APIs */
    s = malloc(size + 1);
    CHECK(s);
    memcpy(s, data, size);
    s[size] = 0;

    /* 2. the lines as overrides */
    {
        const char *ov[64];
        int n = 0;
        char *save = NULL, *lines = strdup(s);
        CHECK(lines);
        for (char *l = strtok_r(lines, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save))
            ov[n++] = l;
        err[0] = 0;
        rc = conf_load(&conf, NULL, n, ov, err, sizeof(err));
        if (rc != 0)
            CHECK(err[0] != 0);
        free(lines);
    }

    /* 3. a listeners list */
    {
        struct sl_listener ls[SL_CONF_MAX_LISTENERS];
        err[0] = 0;
        rc = conf_parse_listeners(s, ls, SL_CONF_MAX_LISTENERS, err, sizeof(err));
        if (rc < 0)
            CHECK(err[0] != 0);
        else
            CHECK(rc <= SL_CONF_MAX_LISTENERS);
    }

    /* 4. one key = value on a topic and on the broker */
    {
        struct sl_topic_conf t;
        const char *name, *value;
        char *eq = strchr(s, '=');
        size_t nt, nb;
        const struct conf_key *tk = conf_topic_keys(&nt);
        const struct conf_key *bk = conf_broker_keys(&nb);
        char buf[8192];

        if (eq) {
            *eq = 0;
            name = s;
            value = eq + 1;
        } else {
            name = size ? tk[data[0] % nt].name : tk[0].name;
            value = s;
        }
        conf_topic_defaults(&base, &t);
        err[0] = 0;
        rc = conf_topic_set(&t, name, value, err, sizeof(err));
        if (rc != 0)
            CHECK(err[0] != 0);
        for (size_t i = 0; i < nt; i++) {
            struct conf_desc d;
            CHECK(conf_topic_get(&t, tk[i].name, buf, sizeof(buf)) == 0);
            CHECK(conf_topic_describe(&base, &t, i, buf, sizeof(buf), &d) == 0);
        }
        if (!eq)
            name = size ? bk[data[0] % nb].name : bk[0].name;
        conf = base;
        err[0] = 0;
        rc = conf_broker_set(&conf, name, value, err, sizeof(err));
        if (rc != 0)
            CHECK(err[0] != 0);
        else
            describe_all(&conf);
    }
    free(s);
    return 0;
}
