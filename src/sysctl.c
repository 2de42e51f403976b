#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fsutil.h"

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int sysctl_parse(const char *data, size_t len, struct sysctl_kv **out, size_t *n)
{
	struct sysctl_kv *v = NULL, *nv;
	size_t k = 0;
	char *copy = strndup(data, len), *line, *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line), *eq, *key, *val;
		bool optional = false;

		if (!*l || *l == '#' || *l == ';')
			continue;
		eq = strchr(l, '=');
		if (!eq)
			continue;
		*eq = '\0';
		key = trim(l);
		val = trim(eq + 1);
		if (*key == '-') {
			optional = true;
			key = trim(key + 1);
		}
		nv = realloc(v, (k + 1) * sizeof(*v));
		if (!nv)
			goto nomem;
		v = nv;
		v[k].key = strdup(key);
		v[k].value = strdup(val);
		v[k].optional = optional;
		if (!v[k].key || !v[k].value) {
			free(v[k].key);
			free(v[k].value);
			goto nomem;
		}
		k++;
	}
	free(copy);
	*out = v;
	*n = k;
	return 0;
nomem:
	free(copy);
	sysctl_free(v, k);
	return -ENOMEM;
}

void sysctl_free(struct sysctl_kv *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static int key_path(const char *key, char *out, size_t size)
{
	size_t i;

	if (!*key || strstr(key, "..") || key[0] == '.' || strchr(key, '/'))
		return -EINVAL;
	if ((size_t)snprintf(out, size, "/proc/sys/%s", key) >= size)
		return -ENAMETOOLONG;
	for (i = 10; out[i]; i++)
		if (out[i] == '.')
			out[i] = '/';
	return 0;
}

int sysctl_get(const char *proc_root, const char *key, char **value)
{
	char path[512], *data;
	size_t len;
	struct stat st;
	int r = key_path(key, path, sizeof(path));

	if (r < 0)
		return r;
	r = root_read_file(proc_root, path, 65536, &data, &len, &st);
	if (r < 0)
		return r;
	while (len && (data[len - 1] == '\n' || data[len - 1] == ' '))
		data[--len] = '\0';
	*value = data;
	return 0;
}

/* The directory holding key's file below proc_root, and the file's name. */
static int key_dir(const char *proc_root, const char *key, int *dfd, char **base)
{
	char path[512], *dir;
	int r = key_path(key, path, sizeof(path));

	if (r < 0)
		return r;
	if ((r = path_split(path, &dir, base)) < 0)
		return r;
	r = root_open_dir(proc_root, dir, false, 0, dfd);
	free(dir);
	if (r < 0) {
		free(*base);
		*base = NULL;
	}
	return r;
}

static bool on_procfs(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/*
 * Under a --root tree /proc/sys is plain files that anyone who could write
 * the tree planted: a hard link would carry our write outside the root.
 */
static int check_stat(const struct stat *st, bool procfs)
{
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (!procfs && st->st_nlink != 1)
		return -EMLINK;
	return 0;
}

int sysctl_check(const char *proc_root, const char *key)
{
	struct stat st;
	char *base = NULL;
	int dfd, r = key_dir(proc_root, key, &dfd, &base);

	if (r < 0)
		return r;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	else
		r = check_stat(&st, on_procfs(dfd));
	close(dfd);
	free(base);
	return r;
}

const char *sysctl_check_reason(int r)
{
	switch (r) {
	case -ELOOP:
		return "is a symbolic link";
	case -EISDIR:
		return "is a directory";
	case -EINVAL:
		return "is not a regular file";
	case -EMLINK:
		return "has more than one hard link";
	default:
		return strerror(-r);
	}
}

int sysctl_set(const char *proc_root, const char *key, const char *value)
{
	char *base = NULL, *line;
	size_t len = strlen(value);
	struct stat pre, st;
	bool procfs;
	ssize_t k;
	int dfd, fd = -1, r = key_dir(proc_root, key, &dfd, &base);

	if (r < 0)
		return r;
	procfs = on_procfs(dfd);
	/* look before opening: opening a FIFO or a device has effects */
	if (fstatat(dfd, base, &pre, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	else
		r = check_stat(&pre, procfs);
	/* /proc/sys entries exist or the key is unknown: never create; truncate
	 * only after the checks, or a hard link's target is emptied first */
	if (r == 0 && (fd = openat(dfd, base, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
				   O_NOCTTY)) < 0)
		r = -errno;
	if (r == 0 && fstat(fd, &st) < 0)
		r = -errno;
	if (r == 0 && (st.st_dev != pre.st_dev || st.st_ino != pre.st_ino))
		r = -EINVAL;
	if (r == 0)
		r = check_stat(&st, procfs);
	if (r == 0 && !procfs && ftruncate(fd, 0) < 0)
		r = -errno;
	if (r == 0) {
		/* one write, with the newline systemd-sysctl and echo end it with */
		line = malloc(len + 2);
		if (!line) {
			r = -ENOMEM;
		} else {
			memcpy(line, value, len);
			line[len] = '\n';
			k = write(fd, line, len + 1);
			free(line);
			if (k < 0)
				r = -errno;
			else if ((size_t)k != len + 1)
				r = -EIO;
		}
	}
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	close(dfd);
	free(base);
	return r;
}

bool sysctl_equal(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		while (*a && *a != ' ' && *a != '\t' && *a == *b) {
			a++;
			b++;
		}
		if (*a && *a != ' ' && *a != '\t')
			return false;
		if (*b && *b != ' ' && *b != '\t')
			return false;
	}
}
