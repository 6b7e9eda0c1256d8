/* server/main.c -- sluiced: parse the command line and configuration, start
 * the broker, wait for SIGTERM or SIGINT, stop cleanly. No protocol logic.
 *
 *   sluiced [-c server.properties] [--override key=value]...
 */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/broker.h"
#include "server/conf.h"
#include "storage/err.h"
#include "storage/log.h"
#include "storage/plog.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: sluiced [-c server.properties] [--override key=value]...\n"
               "  Kafka-compatible broker. Every key of server.properties can be given\n"
               "  with --override (e.g. --override listeners=PLAINTEXT://:9092\n"
               "  --override log.dirs=./data). SIGTERM or SIGINT stops it cleanly.\n");
}

int
main(int argc, char **argv)
{
    static struct sl_conf conf;
    const char *path = NULL;
    const char **overrides = calloc((size_t)argc + 1, sizeof(char *));
    int nover = 0, sig, rc;
    char err[512];
    struct broker *b;
    sigset_t set;

    if (!overrides)
        return 1;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--override") && i + 1 < argc) {
            overrides[nover++] = argv[++i];
        } else if (!strncmp(argv[i], "--override=", 11)) {
            overrides[nover++] = argv[i] + 11;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];     /* kafka-server-start.sh style */
        } else {
            fprintf(stderr, "sluiced: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (conf_load(&conf, path, nover, overrides, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluiced: %s\n", err);
        return 2;
    }
    free(overrides);
    sl_log_set_level((enum sl_log_level)conf.log_level);

    /* signals are taken synchronously by this thread; every thread started
     * from here on inherits the blocked mask */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    {
        /* every partition keeps its active segment open: use what we may */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        /* rolled segments' files: at most half the limit open at once
         * (LRU); the rest is for sockets and active segments */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            plog_set_max_open_files((int)(rl.rlim_cur / 2 > 1000000 ? 1000000 : rl.rlim_cur / 2));
    }
    if ((rc = broker_start(&b, &conf)) != 0) {
        fprintf(stderr, "sluiced: could not start: %s\n", sl_strerror(rc));
        return 1;
    }
    if (sigwait(&set, &sig) != 0)
        sig = SIGTERM;
    SL_INFO("main", "received %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    broker_stop(b, 10000);
    return 0;
}
