/* client/cli.c -- the `sluice` command line, built on libsluice.
 *
 *   sluice [-b HOST:PORT] topic create|list|describe|alter|delete ...
 *   sluice [-b HOST:PORT] produce TOPIC [FILE] ...
 *   sluice [-b HOST:PORT] consume TOPIC ...
 *   sluice [-b HOST:PORT] group list|describe|reset-offsets|delete ...
 *   sluice [-b HOST:PORT] replay TOPIC --from X --to Y ...
 *
 * -b defaults to $SLUICE_BOOTSTRAP, then localhost:9092. Exit status: 0
 * success, 1 an operation failed (the message names the broker, topic or
 * group), 2 bad usage. Every command answers --help.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "client/sluice.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2

static const char *g_bootstrap;
static volatile sig_atomic_t g_stop;

static const char USAGE[] =
    "usage: sluice [-b HOST:PORT] COMMAND ...\n"
    "\n"
    "  topic create NAME [--partitions N] [--replication-factor N] [--config k=v]...\n"
    "  topic list | describe NAME | alter NAME [--config k=v]... [--partitions N] | delete NAME\n"
    "  produce TOPIC [FILE] [--key-separator C] [--header k=v]... [--partition P]\n"
    "          [--compression none|gzip|lz4|zstd|snappy] [--acks 0|1|all]\n"
    "  consume TOPIC [--group G] [--partition P] [--from earliest|latest|OFFSET|@EPOCH_MS]\n"
    "          [--count N] [--exit-at-end] [--format FMT|json]\n"
    "  group list | describe G | reset-offsets G --topic T --to earliest|latest|OFFSET|@EPOCH_MS\n"
    "        | delete G\n"
    "  replay TOPIC [--from @EPOCH_MS|OFFSET] [--to @EPOCH_MS|OFFSET] [--format json|csv]\n"
    "         [--output FILE] [--partition P]\n"
    "\n"
    "  -b, --bootstrap HOST:PORT   broker (default $SLUICE_BOOTSTRAP, then localhost:9092)\n"
    "  -h, --help                  help (also after any command)\n";

/* ---- small helpers ------------------------------------------------------- */

static void __attribute__((format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sluice: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see sluice --help)\n");
    exit(EXIT_USAGE);
}

static void __attribute__((format(printf, 1, 2)))
die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "sluice: error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(EXIT_FAIL);
}

static void
die_sl(struct sluice *sl, int rc, const char *what)
{
    const char *m = sluice_errmsg(sl);
    if (m && *m)
        die("%s: %s", what, m);
    die("%s: %s", what, sluice_strerror(rc));
}

static void
on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void
install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int64_t
wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int
parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int32_t
parse_int_arg(const char *opt, const char *s, int64_t min, int64_t max)
{
    int64_t v;
    if (parse_i64(s, &v) != 0 || v < min || v > max)
        die_usage("bad value '%s' for %s (want an integer %" PRId64 "..%" PRId64 ")", s ? s : "", opt, min, max);
    return (int32_t)v;
}

/* --from/--to spec: earliest|latest|OFFSET|@EPOCH_MS -> SLUICE offset form */
static int64_t
parse_position(const char *opt, const char *s, int allow_names)
{
    int64_t v;
    if (allow_names && (!strcmp(s, "earliest") || !strcmp(s, "beginning")))
        return SLUICE_OFFSET_BEGINNING;
    if (allow_names && (!strcmp(s, "latest") || !strcmp(s, "end")))
        return SLUICE_OFFSET_END;
    if (s[0] == '@') {
        if (parse_i64(s + 1, &v) != 0 || v < 0)
            die_usage("bad timestamp '%s' for %s (want @EPOCH_MS)", s, opt);
        return SLUICE_OFFSET_TIMESTAMP(v);
    }
    if (parse_i64(s, &v) != 0 || v < 0)
        die_usage("bad position '%s' for %s (want %sOFFSET or @EPOCH_MS)", s, opt,
                  allow_names ? "earliest, latest, " : "");
    return v;
}

/* Option scanner: --name value, --name=value, and -x value. */
struct args {
    int argc, i;
    char **argv;
    const char *val;          /* value of the last option matched */
};

static int
opt_is(struct args *a, const char *name, const char *shortname, int takes_value)
{
    const char *arg = a->argv[a->i];
    size_t n = strlen(name);

    if (shortname && !strcmp(arg, shortname)) {
        /* fall through to value handling */
    } else if (!strncmp(arg, name, n) && (arg[n] == 0 || (takes_value && arg[n] == '='))) {
        if (arg[n] == '=') {
            a->val = arg + n + 1;
            return 1;
        }
    } else {
        return 0;
    }
    if (takes_value) {
        if (a->i + 1 >= a->argc)
            die_usage("option %s needs a value", name);
        a->val = a->argv[++a->i];
    }
    return 1;
}

/* argv[a->i] is no known option of cmd: it fills *first, else *second
 * (when given), else it is one argument too many. */
static void
take_arg(struct args *a, const char *cmd, const char **first, const char **second)
{
    const char *arg = a->argv[a->i];

    if (arg[0] == '-' && arg[1])
        die_usage("unknown option '%s' for %s", arg, cmd);
    else if (!*first)
        *first = arg;
    else if (second && !*second)
        *second = arg;
    else
        die_usage("unexpected argument '%s'", arg);
}

static int
is_help(const char *s)
{
    return !strcmp(s, "--help") || !strcmp(s, "-h");
}

static struct sluice *
connect_or_die(struct sluice_conf *conf)
{
    struct sluice *sl;
    int rc;

    conf->bootstrap = g_bootstrap;
    rc = sluice_new(&sl, conf);
    if (rc) {
        const char *m = sluice_errmsg(sl);
        fprintf(stderr, "sluice: error: cannot connect to %s: %s\n", g_bootstrap,
                m && *m ? m : sluice_strerror(rc));
        sluice_destroy(sl);
        exit(EXIT_FAIL);
    }
    return sl;
}

static void
default_conf(struct sluice_conf *conf)
{
    sluice_conf_init(conf);
    conf->client_id = "sluice-cli";
    conf->allow_auto_create = 0;
    conf->connect_timeout_ms = 5000;
    conf->request_timeout_ms = 30000;
}

/* Partition count, or die naming the topic. */
static int32_t
partitions_or_die(struct sluice *sl, const char *topic)
{
    int32_t n;
    int rc = sluice_partition_count(sl, topic, 0, &n);
    if (rc == 3)
        die("unknown topic '%s'", topic);
    if (rc)
        die_sl(sl, rc, topic);
    return n;
}

/* Partition count of topic, or die if it has no partition `partition`. */
static int32_t
partitions_with_or_die(struct sluice *sl, const char *topic, int32_t partition)
{
    int32_t n = partitions_or_die(sl, topic);
    if (partition >= n)
        die("topic '%s' has no partition %d (it has %d)", topic, partition, n);
    return n;
}

/* ---- output formatting -------------------------------------------------- */

static void
json_str(FILE *f, const void *p, int32_t len)
{
    const unsigned char *s = p;
    int32_t i;

    if (!p || len < 0) {
        fputs("null", f);
        return;
    }
    putc('"', f);
    for (i = 0; i < len; i++) {
        unsigned char c = s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                putc(c, f);
        }
    }
    putc('"', f);
}

static void
print_json(FILE *f, const struct sluice_record *r)
{
    int32_t i;
    fputs("{\"topic\":", f);
    json_str(f, r->topic, (int32_t)strlen(r->topic));
    fprintf(f, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64 ",\"key\":",
            r->partition, r->offset, r->timestamp);
    json_str(f, r->key, r->key_len);
    fputs(",\"value\":", f);
    json_str(f, r->value, r->value_len);
    fputs(",\"headers\":{", f);
    for (i = 0; i < r->header_count; i++) {
        if (i)
            putc(',', f);
        json_str(f, r->headers[i].key, (int32_t)strlen(r->headers[i].key));
        putc(':', f);
        json_str(f, r->headers[i].value, r->headers[i].value_len);
    }
    fputs("}}\n", f);
}

static void
csv_field(FILE *f, const void *p, int32_t len)
{
    const char *s = p;
    int32_t i;
    int quote = 0;

    if (!p || len < 0)
        return;                                /* null: empty field */
    for (i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        fwrite(s, 1, (size_t)len, f);
        return;
    }
    putc('"', f);
    for (i = 0; i < len; i++) {
        if (s[i] == '"')
            putc('"', f);
        putc(s[i], f);
    }
    putc('"', f);
}

static void
headers_text(char **buf, size_t *cap, const struct sluice_record *r)
{
    size_t need = 1, len = 0;
    int32_t i;
    for (i = 0; i < r->header_count; i++)
        need += strlen(r->headers[i].key) + 2 + (r->headers[i].value_len > 0 ? (size_t)r->headers[i].value_len : 0);
    if (need > *cap) {
        char *n = realloc(*buf, need * 2);
        if (!n)
            die("out of memory");
        *buf = n;
        *cap = need * 2;
    }
    for (i = 0; i < r->header_count; i++) {
        size_t kl = strlen(r->headers[i].key);
        if (i)
            (*buf)[len++] = ',';
        memcpy(*buf + len, r->headers[i].key, kl);
        len += kl;
        (*buf)[len++] = '=';
        if (r->headers[i].value_len > 0) {
            memcpy(*buf + len, r->headers[i].value, (size_t)r->headers[i].value_len);
            len += (size_t)r->headers[i].value_len;
        }
    }
    (*buf)[len] = 0;
}

static void
print_csv(FILE *f, const struct sluice_record *r)
{
    static char *hb;
    static size_t hcap;
    csv_field(f, r->topic, (int32_t)strlen(r->topic));
    fprintf(f, ",%" PRId32 ",%" PRId64 ",%" PRId64 ",", r->partition, r->offset, r->timestamp);
    csv_field(f, r->key, r->key_len);
    putc(',', f);
    csv_field(f, r->value, r->value_len);
    putc(',', f);
    headers_text(&hb, &hcap, r);
    csv_field(f, hb, (int32_t)strlen(hb));
    putc('\n', f);
}

/* kcat-like format: %t %p %o %k %s %T %h %K (key length) %S (value length),
 * %% and the escapes \n \t \r \\. */
static void
print_fmt(FILE *f, const char *fmt, const struct sluice_record *r)
{
    static char *hb;
    static size_t hcap;
    const char *p;

    for (p = fmt; *p; p++) {
        if (*p == '%' && p[1]) {
            p++;
            switch (*p) {
            case 't': fputs(r->topic, f); break;
            case 'p': fprintf(f, "%" PRId32, r->partition); break;
            case 'o': fprintf(f, "%" PRId64, r->offset); break;
            case 'T': fprintf(f, "%" PRId64, r->timestamp); break;
            case 'k': if (r->key && r->key_len > 0) fwrite(r->key, 1, (size_t)r->key_len, f); break;
            case 's': if (r->value && r->value_len > 0) fwrite(r->value, 1, (size_t)r->value_len, f); break;
            case 'K': fprintf(f, "%" PRId32, r->key ? r->key_len : -1); break;
            case 'S': fprintf(f, "%" PRId32, r->value ? r->value_len : -1); break;
            case 'h': headers_text(&hb, &hcap, r); fputs(hb, f); break;
            case '%': putc('%', f); break;
            default: putc('%', f); putc(*p, f);
            }
        } else if (*p == '\\' && p[1]) {
            p++;
            switch (*p) {
            case 'n': putc('\n', f); break;
            case 't': putc('\t', f); break;
            case 'r': putc('\r', f); break;
            case '0': putc('\0', f); break;
            case '\\': putc('\\', f); break;
            default: putc('\\', f); putc(*p, f);
            }
        } else {
            putc(*p, f);
        }
    }
}

/* A format that does not end in a newline escape gets one. */
static char *
normalize_fmt(const char *fmt)
{
    size_t n = strlen(fmt);
    char *s = malloc(n + 3);
    if (!s)
        die("out of memory");
    memcpy(s, fmt, n + 1);
    if (n < 2 || strcmp(fmt + n - 2, "\\n") != 0) {
        if (n == 0 || fmt[n - 1] != '\n')
            strcat(s, "\\n");
    }
    return s;
}

/* ---- topic ---------------------------------------------------------------- */

static const char TOPIC_USAGE[] =
    "usage: sluice topic create NAME [--partitions N] [--replication-factor N] [--config k=v]...\n"
    "       sluice topic list\n"
    "       sluice topic describe NAME\n"
    "       sluice topic alter NAME [--config k=v]... [--partitions N]\n"
    "       sluice topic delete NAME\n";

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmd_topic(int argc, char **argv)
{
    struct sluice_conf conf;
    struct sluice *sl;
    struct args a = { argc, 1, argv, NULL };
    const char *sub, *name = NULL;
    char cmd[64];
    const char *configs[256];
    int nconfigs = 0, rc, i;
    int32_t partitions = -1;
    int16_t rf = -1;

    if (argc < 2 || is_help(argv[1])) {
        fputs(TOPIC_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    sub = argv[1];
    if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "describe") && strcmp(sub, "alter") &&
        strcmp(sub, "delete"))
        die_usage("unknown topic command '%s'", sub);
    snprintf(cmd, sizeof(cmd), "topic %s", sub);
    for (a.i = 2; a.i < argc; a.i++) {
        if (is_help(argv[a.i])) {
            fputs(TOPIC_USAGE, stdout);
            return 0;
        } else if (opt_is(&a, "--partitions", "-p", 1)) {
            partitions = parse_int_arg("--partitions", a.val, 1, 1000000);
        } else if (opt_is(&a, "--replication-factor", "-r", 1)) {
            rf = (int16_t)parse_int_arg("--replication-factor", a.val, 1, 32767);
        } else if (opt_is(&a, "--config", "-c", 1)) {
            if (!strchr(a.val, '=') || a.val[0] == '=')
                die_usage("bad --config '%s' (want key=value)", a.val);
            if (nconfigs == 256)
                die_usage("too many --config");
            configs[nconfigs++] = a.val;
        } else {
            take_arg(&a, cmd, &name, NULL);
        }
    }
    if (strcmp(sub, "list") && !name)
        die_usage("topic %s needs a topic NAME", sub);
    if (!strcmp(sub, "list") && name)
        die_usage("unexpected argument '%s'", name);
    default_conf(&conf);
    sl = connect_or_die(&conf);

    if (!strcmp(sub, "create")) {
        rc = sluice_create_topic(sl, name, partitions, rf, configs, nconfigs);
        if (rc)
            die_sl(sl, rc, "topic create");
        printf("created topic %s\n", name);
    } else if (!strcmp(sub, "delete")) {
        rc = sluice_delete_topic(sl, name);
        if (rc)
            die_sl(sl, rc, "topic delete");
        printf("deleted topic %s\n", name);
    } else if (!strcmp(sub, "list")) {
        struct sluice_metadata *md;
        char **names;
        int n = 0;
        if ((rc = sluice_metadata(sl, NULL, 0, &md)) != 0)
            die_sl(sl, rc, "topic list");
        names = calloc((size_t)md->topic_count + 1, sizeof(*names));
        for (i = 0; i < md->topic_count; i++)
            if (!md->topics[i].is_internal && md->topics[i].name)
                names[n++] = md->topics[i].name;
        qsort(names, (size_t)n, sizeof(*names), cmp_str);
        for (i = 0; i < n; i++)
            printf("%s\n", names[i]);
        free(names);
        sluice_metadata_free(md);
    } else if (!strcmp(sub, "describe")) {
        struct sluice_metadata *md;
        struct sluice_config_entry *ce = NULL;
        int nce = 0, j, first = 1;
        const char *one[1] = { name };
        struct sluice_topic_md *t;
        if ((rc = sluice_metadata(sl, one, 1, &md)) != 0)
            die_sl(sl, rc, "topic describe");
        if (md->topic_count < 1)
            die("unknown topic '%s'", name);
        t = &md->topics[0];
        if (t->err == 3)
            die("unknown topic '%s'", name);
        if (t->err)
            die("topic '%s': %s", name, sluice_strerror(t->err));
        printf("Topic: %s\tPartitions: %d\tReplicationFactor: %d\tConfigs: ", t->name, t->partition_count,
               t->partition_count ? t->partitions[0].replica_count : 0);
        if (sluice_describe_topic_configs(sl, name, &ce, &nce) == 0) {
            for (j = 0; j < nce; j++) {
                if (ce[j].is_default || !ce[j].value)
                    continue;
                printf("%s%s=%s", first ? "" : ",", ce[j].name, ce[j].is_sensitive ? "(sensitive)" : ce[j].value);
                first = 0;
            }
            sluice_configs_free(ce, nce);
        }
        printf("\n");
        for (i = 0; i < t->partition_count; i++) {
            struct sluice_partition_md *p = &t->partitions[i];
            printf("\tPartition: %d\tLeader: %d\tReplicas: ", p->id, p->leader);
            for (j = 0; j < p->replica_count; j++)
                printf("%s%d", j ? "," : "", p->replicas[j]);
            printf("\tIsr: ");
            for (j = 0; j < p->isr_count; j++)
                printf("%s%d", j ? "," : "", p->isr[j]);
            if (p->err)
                printf("\tError: %s", sluice_strerror(p->err));
            printf("\n");
        }
        sluice_metadata_free(md);
    } else {                                  /* alter */
        if (nconfigs == 0 && partitions < 0)
            die_usage("topic alter needs --config k=v or --partitions N");
        partitions_or_die(sl, name);
        if (nconfigs > 0 && (rc = sluice_alter_topic_configs(sl, name, configs, nconfigs)) != 0)
            die_sl(sl, rc, "topic alter");
        if (partitions > 0 && (rc = sluice_create_partitions(sl, name, partitions)) != 0)
            die_sl(sl, rc, "topic alter");
        printf("altered topic %s\n", name);
    }
    sluice_destroy(sl);
    return 0;
}

/* ---- produce -------------------------------------------------------------- */

static const char PRODUCE_USAGE[] =
    "usage: sluice produce TOPIC [FILE] [options]\n"
    "Reads FILE (or stdin) and produces one record per line.\n"
    "  --key-separator C     split each line at the first C into key and value\n"
    "                        (a line without C gets a null key)\n"
    "  --header k=v          add a header to every record (repeatable)\n"
    "  --partition P         produce to partition P (default: murmur2 of the key,\n"
    "                        sticky for null keys)\n"
    "  --compression CODEC   none|gzip|lz4|zstd|snappy (default none)\n"
    "  --acks 0|1|all        (default all)\n"
    "  --no-idempotence      no producer id / sequence numbers (idempotence is on\n"
    "                        by default with --acks all, when the broker has it)\n"
    "  --retries N           (default 5)   --retry-backoff-ms N (default 100)\n"
    "  --linger-ms N         (default 5)   --batch-size BYTES (default 16384)\n"
    "  --timestamp MS        create time for every record (default: now)\n";

struct produce_stats {
    int64_t ok, failed;
    int first_err;
    char errmsg[256];
};

static void
produce_dr(void *opaque, const struct sluice_record *rec, int err)
{
    struct produce_stats *st = opaque;
    if (err) {
        if (!st->failed) {
            st->first_err = err;
            snprintf(st->errmsg, sizeof(st->errmsg), "%s [%d]: %s", rec->topic, rec->partition,
                     sluice_strerror(err));
        }
        st->failed++;
    } else {
        st->ok++;
    }
}

static int
parse_compression(const char *s)
{
    if (!strcmp(s, "none")) return SLUICE_COMPRESSION_NONE;
    if (!strcmp(s, "gzip")) return SLUICE_COMPRESSION_GZIP;
    if (!strcmp(s, "snappy")) return SLUICE_COMPRESSION_SNAPPY;
    if (!strcmp(s, "lz4")) return SLUICE_COMPRESSION_LZ4;
    if (!strcmp(s, "zstd")) return SLUICE_COMPRESSION_ZSTD;
    die_usage("bad --compression '%s' (want none, gzip, lz4, zstd or snappy)", s);
    return -1;
}

static int
cmd_produce(int argc, char **argv)
{
    struct sluice_conf conf;
    struct sluice *sl;
    struct args a = { argc, 1, argv, NULL };
    const char *topic = NULL, *file = NULL, *sep = NULL;
    struct sluice_header headers[64];
    char *hstore[64];
    int nh = 0, rc, i;
    int32_t partition = -1;
    int64_t ts = 0;
    struct produce_stats st;
    FILE *in = stdin;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    memset(&st, 0, sizeof(st));
    default_conf(&conf);
    for (a.i = 1; a.i < argc; a.i++) {
        if (is_help(argv[a.i])) {
            fputs(PRODUCE_USAGE, stdout);
            return 0;
        } else if (opt_is(&a, "--key-separator", "-K", 1)) {
            if (!a.val[0])
                die_usage("--key-separator must not be empty");
            sep = a.val;
        } else if (opt_is(&a, "--header", "-H", 1)) {
            char *eq;
            if (nh == 64)
                die_usage("too many --header");
            hstore[nh] = strdup(a.val);
            eq = strchr(hstore[nh], '=');
            if (!eq || eq == hstore[nh])
                die_usage("bad --header '%s' (want key=value)", a.val);
            *eq = 0;
            headers[nh].key = hstore[nh];
            headers[nh].value = eq + 1;
            headers[nh].value_len = (int32_t)strlen(eq + 1);
            nh++;
        } else if (opt_is(&a, "--partition", "-p", 1)) {
            partition = parse_int_arg("--partition", a.val, 0, INT32_MAX);
        } else if (opt_is(&a, "--compression", "-z", 1)) {
            conf.compression = parse_compression(a.val);
        } else if (opt_is(&a, "--acks", NULL, 1)) {
            if (!strcmp(a.val, "all") || !strcmp(a.val, "-1"))
                conf.acks = -1;
            else if (!strcmp(a.val, "0") || !strcmp(a.val, "1"))
                conf.acks = atoi(a.val);
            else
                die_usage("bad --acks '%s' (want 0, 1 or all)", a.val);
        } else if (opt_is(&a, "--linger-ms", NULL, 1)) {
            conf.linger_ms = parse_int_arg("--linger-ms", a.val, 0, 600000);
        } else if (opt_is(&a, "--no-idempotence", NULL, 0)) {
            conf.enable_idempotence = 0;
        } else if (opt_is(&a, "--retries", NULL, 1)) {
            conf.retries = parse_int_arg("--retries", a.val, 0, 1000000);
        } else if (opt_is(&a, "--retry-backoff-ms", NULL, 1)) {
            conf.retry_backoff_ms = parse_int_arg("--retry-backoff-ms", a.val, 0, 600000);
        } else if (opt_is(&a, "--batch-size", NULL, 1)) {
            conf.batch_size = parse_int_arg("--batch-size", a.val, 64, 64 * 1024 * 1024);
        } else if (opt_is(&a, "--timestamp", NULL, 1)) {
            int64_t v;
            if (parse_i64(a.val, &v) != 0 || v <= 0)
                die_usage("bad --timestamp '%s' (want epoch milliseconds)", a.val);
            ts = v;
        } else {
            take_arg(&a, "produce", &topic, &file);
        }
    }
    if (!topic)
        die_usage("produce needs a TOPIC");
    if (file && strcmp(file, "-") != 0) {
        in = fopen(file, "r");
        if (!in)
            die("cannot open %s: %s", file, strerror(errno));
    }
    conf.delivery_cb = produce_dr;
    conf.opaque = &st;
    sl = connect_or_die(&conf);
    partitions_with_or_die(sl, topic, partition);
    while ((len = getline(&line, &cap, in)) >= 0) {
        struct sluice_record rec;
        char *v = line;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = 0;
        memset(&rec, 0, sizeof(rec));
        rec.topic = topic;
        rec.partition = partition;
        rec.timestamp = ts;
        if (sep) {
            char *s = strstr(line, sep);
            if (s) {
                rec.key = line;
                rec.key_len = (int32_t)(s - line);
                v = s + strlen(sep);
            }
        }
        rec.value = v;
        rec.value_len = (int32_t)(len - (v - line));
        rec.headers = nh ? headers : NULL;
        rec.header_count = nh;
        if ((rc = sluice_produce(sl, &rec)) != 0)
            die_sl(sl, rc, "produce");
        if (st.failed)
            break;
    }
    free(line);
    if (in != stdin)
        fclose(in);
    {
        int64_t wait = (int64_t)(conf.request_timeout_ms + conf.retry_backoff_ms) * (conf.retries + 2);
        rc = sluice_flush(sl, wait > INT32_MAX ? INT32_MAX : (int)wait);
    }
    if (st.failed)
        die("produce failed: %s (%" PRId64 " record(s) not delivered)", st.errmsg, st.failed);
    if (rc)
        die_sl(sl, rc, "produce");
    fprintf(stderr, "sluice: produced %" PRId64 " record(s) to %s\n", st.ok, topic);
    for (i = 0; i < nh; i++)
        free(hstore[i]);
    sluice_destroy(sl);
    return 0;
}

/* ---- consume -------------------------------------------------------------- */

static const char CONSUME_USAGE[] =
    "usage: sluice consume TOPIC [options]\n"
    "  --group G          consume as a member of group G (committing offsets)\n"
    "  --partition P      only partition P (default: all)\n"
    "  --from POS         earliest (default), latest, OFFSET or @EPOCH_MS\n"
    "                     (with --group: where to start without a committed offset)\n"
    "  --count N          exit after N records\n"
    "  --exit-at-end      exit when the end of every partition is reached\n"
    "  --format FMT|json  %t topic, %p partition, %o offset, %k key, %s value,\n"
    "                     %T timestamp (ms), %h headers (k=v,...), \\n \\t escapes;\n"
    "                     default '%s\\n'. json: one object per line\n"
    "  --timeout-ms N     with --exit-at-end/--count: give up after N ms without data\n";

static int
cmd_consume(int argc, char **argv)
{
    struct sluice_conf conf;
    struct sluice *sl;
    struct args a = { argc, 1, argv, NULL };
    const char *topic = NULL, *group = NULL, *fmt = "%s\\n";
    char *nfmt;
    int32_t partition = -1, n, p;
    int64_t from = SLUICE_OFFSET_BEGINNING, count = -1, got = 0;
    int from_given = 0, exit_at_end = 0, json = 0, rc;
    int64_t idle_timeout = -1, last_data;

    default_conf(&conf);
    for (a.i = 1; a.i < argc; a.i++) {
        if (is_help(argv[a.i])) {
            fputs(CONSUME_USAGE, stdout);
            return 0;
        } else if (opt_is(&a, "--group", "-G", 1)) {
            group = a.val;
        } else if (opt_is(&a, "--partition", "-p", 1)) {
            partition = parse_int_arg("--partition", a.val, 0, INT32_MAX);
        } else if (opt_is(&a, "--from", "-o", 1)) {
            from = parse_position("--from", a.val, 1);
            from_given = 1;
        } else if (opt_is(&a, "--count", "-c", 1)) {
            count = parse_int_arg("--count", a.val, 0, INT32_MAX);
        } else if (opt_is(&a, "--exit-at-end", "-e", 0)) {
            exit_at_end = 1;
        } else if (opt_is(&a, "--format", "-f", 1)) {
            fmt = a.val;
        } else if (opt_is(&a, "--timeout-ms", NULL, 1)) {
            idle_timeout = parse_int_arg("--timeout-ms", a.val, 0, INT32_MAX);
        } else {
            take_arg(&a, "consume", &topic, NULL);
        }
    }
    if (!topic)
        die_usage("consume needs a TOPIC");
    if (group && partition >= 0)
        die_usage("--group and --partition cannot be combined");
    json = !strcmp(fmt, "json");
    nfmt = normalize_fmt(fmt);
    if (group) {
        conf.group_id = group;
        conf.auto_offset_reset = from == SLUICE_OFFSET_END ? SLUICE_OFFSET_END : SLUICE_OFFSET_BEGINNING;
        if (from_given && from != SLUICE_OFFSET_END && from != SLUICE_OFFSET_BEGINNING)
            die_usage("with --group, --from must be earliest or latest");
    }
    install_signals();
    sl = connect_or_die(&conf);
    n = partitions_with_or_die(sl, topic, partition);
    if (group) {
        const char *topics[1] = { topic };
        if ((rc = sluice_subscribe(sl, topics, 1)) != 0)
            die_sl(sl, rc, "consume --group");
    } else {
        for (p = 0; p < n; p++) {
            if (partition >= 0 && p != partition)
                continue;
            if ((rc = sluice_assign(sl, topic, p, from)) != 0)
                die_sl(sl, rc, "consume");
            if (exit_at_end && (rc = sluice_set_end(sl, topic, p, -1)) != 0)
                die_sl(sl, rc, "consume");
        }
    }
    last_data = wall_ms();
    while (!g_stop && (count < 0 || got < count)) {
        struct sluice_record rec;
        rc = sluice_consume(sl, &rec, 200);
        if (rc == SLUICE_ERR_TIMED_OUT) {
            if (group && exit_at_end && sluice_group_at_end(sl))
                break;
            if (idle_timeout >= 0 && wall_ms() - last_data >= idle_timeout)
                break;
            continue;
        }
        if (rc == SLUICE_ERR_EOF)
            break;
        if (rc)
            die_sl(sl, rc, "consume");
        last_data = wall_ms();
        if (json)
            print_json(stdout, &rec);
        else
            print_fmt(stdout, nfmt, &rec);
        got++;
    }
    fflush(stdout);
    if (group && (rc = sluice_commit(sl, 0)) != 0)
        die_sl(sl, rc, "consume: commit");
    free(nfmt);
    sluice_destroy(sl);
    return 0;
}

/* ---- group ---------------------------------------------------------------- */

static const char GROUP_USAGE[] =
    "usage: sluice group list\n"
    "       sluice group describe G\n"
    "       sluice group reset-offsets G --topic T --to earliest|latest|OFFSET|@EPOCH_MS\n"
    "       sluice group delete G\n";

static int
cmd_group(int argc, char **argv)
{
    struct sluice_conf conf;
    struct sluice *sl;
    struct args a = { argc, 1, argv, NULL };
    const char *sub, *group = NULL, *topic = NULL, *to = NULL;
    char cmd[64];
    int rc, i, j;

    if (argc < 2 || is_help(argv[1])) {
        fputs(GROUP_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "describe") && strcmp(sub, "reset-offsets") && strcmp(sub, "delete"))
        die_usage("unknown group command '%s'", sub);
    snprintf(cmd, sizeof(cmd), "group %s", sub);
    for (a.i = 2; a.i < argc; a.i++) {
        if (is_help(argv[a.i])) {
            fputs(GROUP_USAGE, stdout);
            return 0;
        } else if (opt_is(&a, "--topic", "-t", 1)) {
            topic = a.val;
        } else if (opt_is(&a, "--to", NULL, 1)) {
            to = a.val;
        } else {
            take_arg(&a, cmd, &group, NULL);
        }
    }
    if (strcmp(sub, "list") && !group)
        die_usage("group %s needs a group name", sub);
    if (!strcmp(sub, "reset-offsets") && (!topic || !to))
        die_usage("group reset-offsets needs --topic T and --to POSITION");
    default_conf(&conf);
    sl = connect_or_die(&conf);
    if (!strcmp(sub, "list")) {
        struct sluice_group *g;
        int n;
        if ((rc = sluice_list_groups(sl, &g, &n)) != 0)
            die_sl(sl, rc, "group list");
        for (i = 0; i < n; i++)
            printf("%s\n", g[i].group_id);
        sluice_groups_free(g, n);
    } else if (!strcmp(sub, "describe")) {
        struct sluice_group *g;
        const char *seen[256];
        int nseen = 0;
        if ((rc = sluice_describe_group(sl, group, &g)) != 0)
            die_sl(sl, rc, "group describe");
        printf("Group: %s\tState: %s\tProtocol: %s\tMembers: %d\n", g->group_id, g->state,
               g->protocol && *g->protocol ? g->protocol : "-", g->member_count);
        for (i = 0; i < g->member_count; i++) {
            struct sluice_group_member *m = &g->members[i];
            printf("\tMember: %s\tClient: %s\tHost: %s\tAssignment: ", m->member_id, m->client_id,
                   m->client_host);
            for (j = 0; j < m->assignment_count; j++)
                printf("%s%s-%d", j ? "," : "", m->assigned_topics[j], m->assigned_partitions[j]);
            printf("\n");
            for (j = 0; j < m->assignment_count && nseen < 256; j++) {
                int k, dup = 0;
                for (k = 0; k < nseen; k++)
                    dup |= !strcmp(seen[k], m->assigned_topics[j]);
                if (!dup)
                    seen[nseen++] = m->assigned_topics[j];
            }
        }
        /* committed offsets and lag */
        {
            struct sluice_committed_offset *co;
            int nco;
            (void)seen;
            (void)nseen;
            if ((rc = sluice_group_offsets(sl, group, &co, &nco)) != 0)
                die_sl(sl, rc, "group describe");
            printf("TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\n");
            for (i = 0; i < nco; i++) {
                int64_t end = -1;
                if (topic && strcmp(topic, co[i].topic))
                    continue;
                if (sluice_list_offset(sl, co[i].topic, co[i].partition, SLUICE_OFFSET_END, &end) == 0)
                    printf("%s\t%d\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", co[i].topic, co[i].partition,
                           co[i].offset, end, end - co[i].offset);
                else
                    printf("%s\t%d\t%" PRId64 "\t-\t-\n", co[i].topic, co[i].partition, co[i].offset);
            }
            sluice_committed_free(co, nco);
        }
        sluice_groups_free(g, 1);
    } else if (!strcmp(sub, "delete")) {
        if ((rc = sluice_delete_group(sl, group)) != 0)
            die_sl(sl, rc, "group delete");
        printf("deleted group %s\n", group);
    } else {                                    /* reset-offsets */
        int64_t spec = parse_position("--to", to, 1);
        int32_t np = partitions_or_die(sl, topic), p;
        int32_t *parts = calloc((size_t)np, sizeof(*parts));
        int64_t *offs = calloc((size_t)np, sizeof(*offs));
        if (!parts || !offs)
            die("out of memory");
        for (p = 0; p < np; p++) {
            parts[p] = p;
            if (spec >= 0) {
                offs[p] = spec;
            } else if ((rc = sluice_list_offset(sl, topic, p, spec, &offs[p])) != 0) {
                die_sl(sl, rc, "group reset-offsets");
            }
            if (offs[p] < 0 && (rc = sluice_list_offset(sl, topic, p, SLUICE_OFFSET_END, &offs[p])) != 0)
                die_sl(sl, rc, "group reset-offsets");
        }
        if ((rc = sluice_commit_offsets(sl, group, topic, np, parts, offs)) != 0)
            die_sl(sl, rc, "group reset-offsets");
        printf("TOPIC\tPARTITION\tNEW-OFFSET\n");
        for (p = 0; p < np; p++)
            printf("%s\t%d\t%" PRId64 "\n", topic, p, offs[p]);
        free(parts);
        free(offs);
    }
    sluice_destroy(sl);
    return 0;
}

/* ---- replay --------------------------------------------------------------- */

static const char REPLAY_USAGE[] =
    "usage: sluice replay TOPIC [--from @EPOCH_MS|OFFSET] [--to @EPOCH_MS|OFFSET]\n"
    "                    [--format json|csv] [--output FILE] [--partition P]\n"
    "Reads every partition of TOPIC in the window [from, to) -- from inclusive,\n"
    "to exclusive; times are epoch milliseconds, an OFFSET applies to every\n"
    "partition -- and writes the records merged in timestamp order, as JSON\n"
    "lines (default) or CSV with a header row, to stdout or FILE. Default window:\n"
    "the whole topic as it is when the replay starts. A progress bar goes to\n"
    "stderr when it is a terminal; a summary goes to stderr at the end.\n";

struct rpart {
    struct sluice *sl;
    int32_t partition;
    int64_t start, end;
    int have;                      /* rec holds the head record */
    struct sluice_record rec;
};

static int
rp_less(const struct rpart *x, const struct rpart *y)
{
    if (x->rec.timestamp != y->rec.timestamp)
        return x->rec.timestamp < y->rec.timestamp;
    if (x->partition != y->partition)
        return x->partition < y->partition;
    return x->rec.offset < y->rec.offset;
}

static void
heap_down(struct rpart **h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && rp_less(h[l], h[m]))
            m = l;
        if (r < n && rp_less(h[r], h[m]))
            m = r;
        if (m == i)
            return;
        struct rpart *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void
fmt_dur(char *buf, size_t n, double secs)
{
    if (secs < 0 || secs > 1e7)
        snprintf(buf, n, "--:--");
    else if (secs >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)secs / 3600, ((int)secs / 60) % 60, (int)secs % 60);
    else
        snprintf(buf, n, "%02d:%02d", (int)secs / 60, (int)secs % 60);
}

static void
progress(int64_t done, int64_t total, int64_t bytes, int64_t t0, int final)
{
    double el = (double)(wall_ms() - t0) / 1000.0, rate = el > 0 ? (double)done / el : 0;
    double frac = total > 0 ? (double)done / (double)total : 1.0;
    char eta[32];
    int w = 30, i, fill;

    if (frac > 1)
        frac = 1;
    fill = (int)(frac * w);
    fmt_dur(eta, sizeof(eta), rate > 0 ? (double)(total - done) / rate : -1);
    fprintf(stderr, "\r[");
    for (i = 0; i < w; i++)
        putc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%% %" PRId64 "/%" PRId64 " records %.1f MB %.0f rec/s ETA %s ", (int)(frac * 100), done,
            total, (double)bytes / 1e6, rate, final ? "00:00" : eta);
    if (final)
        fprintf(stderr, "\n");
}

static int
cmd_replay(int argc, char **argv)
{
    struct sluice_conf conf;
    struct sluice *sl;
    struct args a = { argc, 1, argv, NULL };
    const char *topic = NULL, *out_path = NULL, *format = "json";
    int64_t from = SLUICE_OFFSET_BEGINNING, to = SLUICE_OFFSET_END;
    int64_t ts_lo = INT64_MIN, ts_hi = INT64_MAX;
    int32_t partition = -1, np, p;
    struct rpart *parts;
    struct rpart **heap;
    int nh = 0, csv, rc, tty;
    FILE *out = stdout;
    int64_t total = 0, done = 0, emitted = 0, bytes = 0, t0, last_prog = 0;
    int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;

    default_conf(&conf);
    for (a.i = 1; a.i < argc; a.i++) {
        if (is_help(argv[a.i])) {
            fputs(REPLAY_USAGE, stdout);
            return 0;
        } else if (opt_is(&a, "--from", NULL, 1)) {
            from = parse_position("--from", a.val, 1);
        } else if (opt_is(&a, "--to", NULL, 1)) {
            to = parse_position("--to", a.val, 1);
        } else if (opt_is(&a, "--format", "-f", 1)) {
            format = a.val;
        } else if (opt_is(&a, "--output", "-O", 1)) {
            out_path = a.val;
        } else if (opt_is(&a, "--partition", "-p", 1)) {
            partition = parse_int_arg("--partition", a.val, 0, INT32_MAX);
        } else {
            take_arg(&a, "replay", &topic, NULL);
        }
    }
    if (!topic)
        die_usage("replay needs a TOPIC");
    if (strcmp(format, "json") && strcmp(format, "csv"))
        die_usage("bad --format '%s' for replay (want json or csv)", format);
    csv = !strcmp(format, "csv");
    if (from <= SLUICE_OFFSET_TIMESTAMP_BASE)
        ts_lo = SLUICE_OFFSET_TIMESTAMP_BASE - from;
    if (to <= SLUICE_OFFSET_TIMESTAMP_BASE)
        ts_hi = SLUICE_OFFSET_TIMESTAMP_BASE - to;
    install_signals();
    sl = connect_or_die(&conf);
    np = partitions_with_or_die(sl, topic, partition);
    parts = calloc((size_t)np, sizeof(*parts));
    heap = calloc((size_t)np, sizeof(*heap));
    if (!parts || !heap)
        die("out of memory");
    /* the window in offsets, per partition */
    for (p = 0; p < np; p++) {
        struct rpart *rp = &parts[p];
        int64_t lo, hi, log_end, log_start;
        rp->partition = p;
        if (partition >= 0 && p != partition)
            continue;
        if ((rc = sluice_list_offset(sl, topic, p, SLUICE_OFFSET_END, &log_end)) != 0 ||
            (rc = sluice_list_offset(sl, topic, p, SLUICE_OFFSET_BEGINNING, &log_start)) != 0)
            die_sl(sl, rc, "replay");
        if (from >= 0)
            lo = from < log_start ? log_start : from;
        else if ((rc = sluice_list_offset(sl, topic, p, from, &lo)) != 0)
            die_sl(sl, rc, "replay");
        if (lo < 0)
            lo = log_end;
        if (to >= 0)
            hi = to;
        else if ((rc = sluice_list_offset(sl, topic, p, to, &hi)) != 0)
            die_sl(sl, rc, "replay");
        if (hi < 0 || hi > log_end)
            hi = log_end;
        rp->start = lo;
        rp->end = hi;
        if (hi > lo)
            total += hi - lo;
    }
    if (out_path && strcmp(out_path, "-") != 0) {
        out = fopen(out_path, "w");
        if (!out)
            die("cannot open %s: %s", out_path, strerror(errno));
    }
    tty = isatty(2);
    t0 = wall_ms();
    if (csv)
        fputs("topic,partition,offset,timestamp,key,value,headers\n", out);
    /* one handle per partition: each holds its head record for the merge */
    for (p = 0; p < np; p++) {
        struct rpart *rp = &parts[p];
        if ((partition >= 0 && p != partition) || rp->end <= rp->start)
            continue;
        conf.fetch_max_wait_ms = 100;
        rp->sl = connect_or_die(&conf);
        if ((rc = sluice_assign(rp->sl, topic, p, rp->start)) != 0 ||
            (rc = sluice_set_end(rp->sl, topic, p, rp->end)) != 0)
            die_sl(rp->sl, rc, "replay");
    }
    /* fill heads */
    for (p = 0; p < np; p++) {
        struct rpart *rp = &parts[p];
        if (!rp->sl)
            continue;
        for (;;) {
            rc = sluice_consume(rp->sl, &rp->rec, 1000);
            if (rc == SLUICE_ERR_TIMED_OUT && !g_stop)
                continue;
            break;
        }
        if (rc == 0) {
            rp->have = 1;
            heap[nh++] = rp;
        } else if (rc != SLUICE_ERR_EOF && !g_stop) {
            die_sl(rp->sl, rc, "replay");
        }
    }
    for (int i = nh / 2 - 1; i >= 0; i--)
        heap_down(heap, nh, i);
    while (nh > 0 && !g_stop) {
        struct rpart *rp = heap[0];
        struct sluice_record *r = &rp->rec;
        done++;
        if (r->timestamp >= ts_lo && r->timestamp < ts_hi) {
            if (csv)
                print_csv(out, r);
            else
                print_json(out, r);
            emitted++;
            bytes += (r->key_len > 0 ? r->key_len : 0) + (r->value_len > 0 ? r->value_len : 0);
            if (r->timestamp < min_ts)
                min_ts = r->timestamp;
            if (r->timestamp > max_ts)
                max_ts = r->timestamp;
        }
        if (tty && wall_ms() - last_prog >= 200) {
            last_prog = wall_ms();
            progress(done, total, bytes, t0, 0);
        }
        for (;;) {
            rc = sluice_consume(rp->sl, r, 1000);
            if (rc == SLUICE_ERR_TIMED_OUT && !g_stop)
                continue;
            break;
        }
        if (rc == 0) {
            heap_down(heap, nh, 0);
        } else if (rc == SLUICE_ERR_EOF || g_stop) {
            heap[0] = heap[--nh];
            heap_down(heap, nh, 0);
        } else {
            die_sl(rp->sl, rc, "replay");
        }
    }
    if ((fflush(out) != 0 || ferror(out)) && errno == EPIPE)
        exit(0);                               /* reader went away (| head) */
    if (fflush(out) != 0 || ferror(out))
        die("write failed: %s", strerror(errno));
    if (out != stdout)
        fclose(out);
    if (tty)
        progress(done, total, bytes, t0, 1);
    {
        double el = (double)(wall_ms() - t0) / 1000.0;
        fprintf(stderr, "sluice: replayed %" PRId64 " record(s) (%.2f MB) from %d partition(s) of %s in %.2fs",
                emitted, (double)bytes / 1e6, partition >= 0 ? 1 : np, topic, el);
        if (emitted)
            fprintf(stderr, ", timestamps %" PRId64 "..%" PRId64, min_ts, max_ts);
        fprintf(stderr, "%s\n", g_stop ? " (interrupted)" : "");
    }
    for (p = 0; p < np; p++)
        sluice_destroy(parts[p].sl);
    free(parts);
    free(heap);
    sluice_destroy(sl);
    return 0;
}

/* ---- main ----------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    int i = 1;
    const char *cmd;

    g_bootstrap = getenv("SLUICE_BOOTSTRAP");
    if (!g_bootstrap || !*g_bootstrap)
        g_bootstrap = "localhost:9092";
    while (i < argc && argv[i][0] == '-') {
        if (is_help(argv[i])) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(argv[i], "-b") || !strcmp(argv[i], "--bootstrap")) {
            if (i + 1 >= argc)
                die_usage("%s needs HOST:PORT", argv[i]);
            g_bootstrap = argv[i + 1];
            i += 2;
        } else if (!strncmp(argv[i], "--bootstrap=", 12)) {
            g_bootstrap = argv[i] + 12;
            i++;
        } else {
            die_usage("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    cmd = argv[i];
    argc -= i;
    argv += i;
    if (!strcmp(cmd, "topic"))
        return cmd_topic(argc, argv);
    if (!strcmp(cmd, "produce"))
        return cmd_produce(argc, argv);
    if (!strcmp(cmd, "consume"))
        return cmd_consume(argc, argv);
    if (!strcmp(cmd, "group"))
        return cmd_group(argc, argv);
    if (!strcmp(cmd, "replay"))
        return cmd_replay(argc, argv);
    if (!strcmp(cmd, "help")) {
        fputs(USAGE, stdout);
        return 0;
    }
    die_usage("unknown command '%s'", cmd);
    return EXIT_USAGE;
}
