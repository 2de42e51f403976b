/*
 * Validators for the values a profile (and the modules that use it) must
 * check: names, paths, durations, control IDs. Each predicate returns true
 * when s is valid; none prints or allocates.
 */
#ifndef K3H_VALIDATE_H
#define K3H_VALIDATE_H

#include <stdbool.h>

/* A DNS-1123 label (namespace names): a-z, 0-9, '-', 1 to 63, no '-' at an end. */
bool valid_dns1123_label(const char *s);
/* Dot-separated DNS-1123 labels, at most 253 (RuntimeClass names). */
bool valid_dns1123_subdomain(const char *s);
/* A sysctl key in dotted form (vm.overcommit_memory), never a '/' path. */
bool valid_sysctl_key(const char *s);
/* Absolute and clean: no '.', '..', '//', trailing '/' or control characters. */
bool valid_abs_path(const char *s);
/* A plain file name: alphanumerics, '-', '_', '.', not hidden. */
bool valid_file_name(const char *s);
/* A Go duration as time.ParseDuration reads it ("5m", "1h30m", "0"). */
bool valid_duration(const char *s);
/* "1.2.16", or with a benchmark prefix: "k3s-cis-1.24:4.2.6". */
bool valid_control_id(const char *s);
/* A command-line flag or K3s option name without dashes: a-z, 0-9, '-'. */
bool valid_flag_name(const char *s);
/* Exactly "true" or "false". */
bool valid_bool_word(const char *s);
/* A decimal whole number without a leading zero (libcyaml reads 010 as octal). */
bool valid_uint_word(const char *s);
/* One line: no newline or other control character. */
bool valid_one_line(const char *s);

/* A valid Go duration in milliseconds (rounded down); -EINVAL when not one. */
long long valid_duration_ms(const char *s);

#endif
