/* Kernel parameters: the sysctl.d file format and the live values in /proc/sys. */
#ifndef K3H_SYSCTL_H
#define K3H_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>

struct sysctl_kv {
	char *key;
	char *value;
	bool optional;          /* "-key = value": errors ignored, as systemd-sysctl does */
};

/* Parse sysctl.d text: key = value lines, '#' and ';' comments. */
int sysctl_parse(const char *data, size_t len, struct sysctl_kv **v, size_t *n);
void sysctl_free(struct sysctl_kv *v, size_t n);

/*
 * Read or write the live value of key under PROC_ROOT/proc/sys (PROC_ROOT
 * is "/" on a real host, the --root tree with --live). Values are compared
 * with whitespace runs folded, as the kernel prints "4096\t87380".
 */
int sysctl_get(const char *proc_root, const char *key, char **value);
int sysctl_set(const char *proc_root, const char *key, const char *value);

/*
 * Whether the live value of key may be written: PROC_ROOT/proc/sys/KEY must
 * be a procfs file, or a regular file with one link (a --root tree). 0, or
 * -ENOENT (no such key), -ELOOP (symlink), -EISDIR, -EINVAL (FIFO, device,
 * socket), -EMLINK (a hard link). sysctl_set makes the same checks on the
 * file it opens; this lets a caller refuse before it changes anything.
 */
int sysctl_check(const char *proc_root, const char *key);
/* What sysctl_check's result means, for a message: "is a symbolic link", ... */
const char *sysctl_check_reason(int r);
bool sysctl_equal(const char *a, const char *b);

#endif
