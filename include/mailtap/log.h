/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging: one printf-style sink for every module, libbpf/libxdp routed here too. */
#ifndef MAILTAP_LOG_H
#define MAILTAP_LOG_H

enum log_level { LOG_WARN = 0, LOG_INFO = 1, LOG_DEBUG = 2 };

void log__set_level(enum log_level lvl);
enum log_level log__level(void);
void log__print(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_warn(...) log__print(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log__print(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log__print(LOG_DEBUG, __VA_ARGS__)

#endif
