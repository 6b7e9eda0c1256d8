/* storage/log.h -- one line per event on stderr: time, level, subsystem, text.
 *
 *   2026-11-22T16:45:01.123Z INFO  [plog] recovered topic-0: truncated 37 bytes
 *
 * The level threshold is process-wide (set once at start, read without a
 * lock); lines are written with a single write(2) so threads do not interleave.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

enum sl_log_level { SL_LOG_DEBUG, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR };

void sl_log_set_level(enum sl_log_level lvl);
/* "debug", "info", "warn", "error" -> level; -1 if unknown. */
int sl_log_parse_level(const char *s);
void sl_log(enum sl_log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SL_DEBUG(sub, ...) sl_log(SL_LOG_DEBUG, sub, __VA_ARGS__)
#define SL_INFO(sub, ...)  sl_log(SL_LOG_INFO, sub, __VA_ARGS__)
#define SL_WARN(sub, ...)  sl_log(SL_LOG_WARN, sub, __VA_ARGS__)
#define SL_ERROR(sub, ...) sl_log(SL_LOG_ERROR, sub, __VA_ARGS__)

#endif
