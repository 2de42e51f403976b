#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * known: st is the fstat of fd already (open_regular_at made it), and a
 * read that stops short at st_size bytes is taken as the end of the file
 * (what a regular file on a local file system does) instead of asking a
 * second time: two system calls per file fewer when reading many.
 */
static int read_fd(int fd, size_t max, char **data, size_t *len, struct stat *st, bool known)
{
	size_t cap, n = 0;
	char *p = NULL, *np;
	ssize_t k;

	if (!known && fstat(fd, st) < 0)
		return -errno;
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if ((size_t)st->st_size > max)
		return -EFBIG;
	/* known: room for one byte more, so that a short read says "the end" */
	cap = (size_t)st->st_size + (known ? 2 : 1);
	for (;;) {
		if (n + 1 >= cap || !p) {
			if (n + 1 >= cap)
				cap *= 2;
			if (cap > max + 2)
				cap = max + 2;
			np = realloc(p, cap);
			if (!np) {
				free(p);
				return -ENOMEM;
			}
			p = np;
		}
		k = read(fd, p + n, cap - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			k = -errno;
			free(p);
			return (int)k;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			free(p);
			return -EFBIG;
		}
		if (known && st->st_size > 0 && n == (size_t)st->st_size && n + 1 < cap)
			break;
	}
	p[n] = '\0';
	*data = p;
	*len = n;
	return 0;
}

int read_fd_all(int fd, size_t max, char **data, size_t *len, struct stat *st)
{
	return read_fd(fd, max, data, len, st, false);
}

int path_split(const char *path, char **dir, char **base)
{
	const char *s = strrchr(path, '/');
	char *d, *b;

	if (!s)
		return -EINVAL;
	d = s == path ? strdup("/") : strndup(path, (size_t)(s - path));
	b = strdup(s + 1);
	if (!d || !b) {
		free(d);
		free(b);
		return -ENOMEM;
	}
	*dir = d;
	*base = b;
	return 0;
}

int root_open_dir(const char *root, const char *rel, bool create, mode_t mode,
		  int *dirfd)
{
	char *copy, *part, *save = NULL;
	int fd, next, r = 0;

	fd = open(root && *root ? root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	copy = strdup(rel);
	if (!copy) {
		close(fd);
		return -ENOMEM;
	}
	for (part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		bool last = save == NULL || *save == '\0';

		if (strcmp(part, "..") == 0 || strcmp(part, ".") == 0) {
			r = -EINVAL;
			break;
		}
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, part, 0700) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* the mode we mean, whatever the umask */
			if (next >= 0 && fchmod(next, last ? mode : 0755) < 0) {
				r = -errno;
				close(next);
				break;
			}
		}
		if (next < 0) {
			r = -errno;
			/* O_DIRECTORY|O_NOFOLLOW on a symlink gives ENOTDIR; say ELOOP */
			if (r == -ENOTDIR) {
				struct stat st;

				if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
					r = -ELOOP;
			}
			break;
		}
		close(fd);
		fd = next;
	}
	free(copy);
	if (r < 0) {
		close(fd);
		return r;
	}
	*dirfd = fd;
	return 0;
}

int open_regular_at(int dirfd, const char *name, int flags, struct stat *st)
{
	struct stat pre;
	int fd;

	if (fstatat(dirfd, name, &pre, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(pre.st_mode))
		return -ELOOP;
	if (S_ISDIR(pre.st_mode))
		return -EISDIR;
	if (!S_ISREG(pre.st_mode))
		return -EINVAL;
	fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	/* swapped between the look and the open */
	if (!S_ISREG(st->st_mode) || st->st_dev != pre.st_dev || st->st_ino != pre.st_ino) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

const char *file_type_name_at(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return "missing";
	switch (st.st_mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symbolic link";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

const char *file_type_name(const char *path)
{
	return file_type_name_at(AT_FDCWD, path);
}

int root_read_file(const char *root, const char *rel, size_t max, char **data,
		   size_t *len, struct stat *st)
{
	char *dir, *base;
	int dfd, fd, r;

	if ((r = path_split(rel, &dir, &base)) < 0)
		return r;
	r = root_open_dir(root, dir, false, 0, &dfd);
	if (r < 0)
		goto out;
	fd = open_regular_at(dfd, base, O_RDONLY, st);
	if (fd < 0) {
		r = fd;
		close(dfd);
		goto out;
	}
	r = read_fd_all(fd, max, data, len, st);
	close(fd);
	close(dfd);
out:
	free(dir);
	free(base);
	return r;
}

int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int write_atomic_at(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, bool sync)
{
	char tmp[300];
	int fd, r;
	unsigned tries;

	for (tries = 0;; tries++) {
		snprintf(tmp, sizeof(tmp), ".%s.k3s-harden-%ld-%u", name, (long)getpid(), tries);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 100)
			return -errno;
	}
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fchown(fd, uid, gid) < 0 && errno != EPERM)
		r = -errno;
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (sync && fsync(dirfd) < 0)
		return -errno;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int list_dir_fd(int dirfd, char ***names, size_t *n)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t k = 0;
	DIR *dir;
	int fd, r = 0;

	/* a descriptor of our own: closedir closes it, the caller's stays */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		nv = realloc(v, (k + 1) * sizeof(*v));
		if (!nv || !(nv[k] = strdup(de->d_name))) {
			v = nv ? nv : v;
			r = -ENOMEM;
			break;
		}
		v = nv;
		k++;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dir);
	if (r < 0) {
		names_free(v, k);
		return r;
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_names);
	*names = v;
	*n = k;
	return 0;
}

int root_list_dir(const char *root, const char *rel, char ***names, size_t *n)
{
	int fd, r;

	r = root_open_dir(root, rel, false, 0, &fd);
	if (r == -ENOENT) {
		*names = NULL;
		*n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	r = list_dir_fd(fd, names, n);
	close(fd);
	return r;
}

int root_stat(const char *root, const char *rel, struct stat *st)
{
	char *dir, *base;
	int dfd, r;

	if ((r = path_split(rel, &dir, &base)) < 0)
		return r;
	r = root_open_dir(root, dir, false, 0, &dfd);
	if (r == 0) {
		if (fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		close(dfd);
	}
	free(dir);
	free(base);
	return r;
}

#include <linux/openat2.h>
#include <sys/syscall.h>

/* openat2(2) below rootfd with RESOLVE_IN_ROOT: "/" and ".." stay inside. */
static int open_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	/* O_PATH takes no other flags than O_CLOEXEC */
	how.flags = (unsigned long long)(unsigned)(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY));
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	while (*rel == '/')
		rel++;
	fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int root_read_file_resolved(const char *root, const char *rel, size_t max, char **data,
			    size_t *len, struct stat *st)
{
	struct stat pre;
	int rootfd, pfd = -1, fd = -1, r;

	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	/* an O_PATH open has no side effects: look at the type first */
	pfd = open_in_root(rootfd, rel, O_PATH);
	if (pfd < 0) {
		r = pfd;
		goto out;
	}
	if (fstat(pfd, &pre) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(pre.st_mode) || !S_ISREG(pre.st_mode)) {
		r = S_ISDIR(pre.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	fd = open_in_root(rootfd, rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	r = read_fd_all(fd, max, data, len, st);
	/* swapped between the look and the open */
	if (r == 0 && (st->st_dev != pre.st_dev || st->st_ino != pre.st_ino)) {
		free(*data);
		*data = NULL;
		r = -EINVAL;
	}
out:
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	close(rootfd);
	return r;
}

#include <linux/fs.h>
#include <sys/ioctl.h>

int root_immutable(const char *root, const char *rel)
{
	char *dir, *base;
	struct stat st;
	int dfd, fd, r, flags = 0;

	if ((r = path_split(rel, &dir, &base)) < 0)
		return r;
	r = root_open_dir(root, dir, false, 0, &dfd);
	if (r < 0)
		goto out;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
	} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
		/* no O_NONBLOCK games needed: only regular files and directories */
		fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			r = -errno;
		} else {
			r = ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 ? 0 :
			    (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) != 0;
			close(fd);
		}
	} else {
		r = 0;
	}
	close(dfd);
out:
	free(dir);
	free(base);
	return r;
}

/* ---- directory descriptors kept for a run ---- */

struct dirfd_ent {
	char *path;             /* normalised: "" for the root, else "/a/b" */
	size_t len;
	int fd;
};

struct dirfds {
	int root_fd;
	struct dirfd_ent *v;
	size_t n, cap, last;
	unsigned opened;
};

int dirfds_new(const char *root, struct dirfds **out)
{
	struct dirfds *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->root_fd = open(root && *root ? root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->root_fd < 0) {
		int r = -errno;

		free(d);
		return r;
	}
	*out = d;
	return 0;
}

void dirfds_free(struct dirfds *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		if (d->v[i].fd >= 0)
			close(d->v[i].fd);
		free(d->v[i].path);
	}
	free(d->v);
	close(d->root_fd);
	free(d);
}

unsigned dirfds_opened(const struct dirfds *d)
{
	return d->opened;
}

/* "/a//b/" -> "/a/b", "/" -> ""; -EINVAL for "." and "..", -ENAMETOOLONG. */
static int norm_path(const char *in, char *out, size_t size)
{
	size_t k = 0;
	const char *p = in, *e;

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (k + n + 2 > size)
			return -ENAMETOOLONG;
		out[k++] = '/';
		memcpy(out + k, p, n);
		k += n;
		p += n;
	}
	out[k] = '\0';
	return (int)k;
}

static long dirfds_find(struct dirfds *d, const char *path, size_t len)
{
	size_t i;

	if (d->last < d->n && d->v[d->last].len == len && memcmp(d->v[d->last].path, path, len) == 0)
		return (long)d->last;
	for (i = d->n; i-- > 0;)
		if (d->v[i].len == len && memcmp(d->v[i].path, path, len) == 0) {
			d->last = i;
			return (long)i;
		}
	return -1;
}

static int dirfds_put(struct dirfds *d, const char *path, size_t len, int fd);

/* path: normalised, len bytes */
static int dirfds_get_norm(struct dirfds *d, char *path, size_t len, bool create, mode_t mode,
			   int *out)
{
	char *slash, *name;
	long at;
	int pfd, fd, r;

	if (len == 0) {
		*out = d->root_fd;
		return 0;
	}
	at = dirfds_find(d, path, len);
	if (at >= 0 && d->v[at].fd >= 0) {
		*out = d->v[at].fd;
		return 0;
	}
	if (at >= 0 && !create)
		return -ENOENT;
	if (at >= 0) {
		/* it was missing; now it is to be made */
		free(d->v[at].path);
		d->v[at] = d->v[--d->n];
		d->last = 0;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	r = dirfds_get_norm(d, path, (size_t)(slash - path), create, 0755, &pfd);
	*slash = '/';
	if (r < 0)
		return r;
	name = slash + 1;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(pfd, name, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* the mode we mean, whatever the umask */
		if (fd >= 0 && fchmod(fd, mode) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
	}
	if (fd < 0) {
		r = -errno;
		/* O_DIRECTORY|O_NOFOLLOW on a symlink gives ENOTDIR; say ELOOP */
		if (r == -ENOTDIR) {
			struct stat st;

			if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				r = -ELOOP;
		}
		/* remember a missing directory: everything below it is missing too,
		 * without asking the kernel again (dirfds_forget when one is made) */
		if (r == -ENOENT)
			dirfds_put(d, path, len, -1);   /* without it, only slower */
		return r;
	}
	if ((r = dirfds_put(d, path, len, fd)) < 0) {
		close(fd);
		return r;
	}
	d->opened++;
	*out = fd;
	return 0;
}

static int dirfds_put(struct dirfds *d, const char *path, size_t len, int fd)
{
	struct dirfd_ent *nv;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		nv = realloc(d->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n].path = strndup(path, len);
	if (!d->v[d->n].path)
		return -ENOMEM;
	d->v[d->n].len = len;
	d->v[d->n].fd = fd;
	d->last = d->n++;
	return 0;
}

int dirfds_get(struct dirfds *d, const char *rel, bool create, mode_t mode, int *fd)
{
	char path[4096];
	int len = norm_path(rel, path, sizeof(path));

	if (len < 0)
		return len;
	return dirfds_get_norm(d, path, (size_t)len, create, mode, fd);
}

int dirfds_parent(struct dirfds *d, const char *path, int *fd, const char **base)
{
	char raw[4096], dir[4096];
	const char *s = strrchr(path, '/');
	int len;

	if (!s || !s[1] || strcmp(s + 1, ".") == 0 || strcmp(s + 1, "..") == 0)
		return -EINVAL;
	if ((size_t)(s - path) >= sizeof(raw))
		return -ENAMETOOLONG;
	memcpy(raw, path, (size_t)(s - path));
	raw[s - path] = '\0';
	len = norm_path(raw, dir, sizeof(dir));
	if (len < 0)
		return len;
	len = dirfds_get_norm(d, dir, (size_t)len, false, 0, fd);
	if (len < 0)
		return len;
	*base = s + 1;
	return 0;
}

int dirfds_first_link(struct dirfds *d, const char *rel, char *link, size_t link_size,
		      char *target, size_t target_size)
{
	char path[4096];
	int len = norm_path(rel, path, sizeof(path));
	size_t end;

	if (len < 0)
		return len;
	for (end = 2; end <= (size_t)len; end++) {
		struct stat st;
		const char *base;
		ssize_t n;
		int fd, r;

		if (end < (size_t)len && path[end] != '/')
			continue;
		path[end] = '\0';
		r = dirfds_parent(d, path, &fd, &base);
		if (r == 0 && fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		if (r == 0 && S_ISLNK(st.st_mode)) {
			n = readlinkat(fd, base, target, target_size - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if ((size_t)snprintf(link, link_size, "%s", path) >= link_size)
				return -ENAMETOOLONG;
			return 1;
		}
		if (end < (size_t)len)
			path[end] = '/';
		if (r < 0)
			return r == -ENOENT ? 0 : r;
	}
	return 0;
}

void dirfds_forget(struct dirfds *d, const char *rel)
{
	char path[4096];
	int len = norm_path(rel, path, sizeof(path));
	size_t i, k = 0, l;

	if (len <= 0)
		return;
	l = (size_t)len;
	for (i = 0; i < d->n; i++) {
		struct dirfd_ent *e = &d->v[i];

		if (e->len >= l && memcmp(e->path, path, l) == 0 && (e->len == l || e->path[l] == '/')) {
			if (e->fd >= 0)
				close(e->fd);
			free(e->path);
			continue;
		}
		d->v[k++] = *e;
	}
	d->n = k;
	d->last = 0;
}

int dirfds_read_file(struct dirfds *d, const char *rel, size_t max, char **data,
		     size_t *len, struct stat *st)
{
	const char *base;
	int dfd, fd, r;

	r = dirfds_parent(d, rel, &dfd, &base);
	if (r < 0)
		return r;
	fd = open_regular_at(dfd, base, O_RDONLY, st);
	if (fd < 0)
		return fd;
	r = read_fd(fd, max, data, len, st, true);
	close(fd);
	return r;
}

int dirfds_stat(struct dirfds *d, const char *rel, struct stat *st)
{
	const char *base;
	int dfd, r;

	r = dirfds_parent(d, rel, &dfd, &base);
	if (r < 0)
		return r;
	return fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int dirfds_list(struct dirfds *d, const char *rel, char ***names, size_t *n)
{
	int fd, r;

	r = dirfds_get(d, rel, false, 0, &fd);
	if (r == -ENOENT) {
		*names = NULL;
		*n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	return list_dir_fd(fd, names, n);
}

int dirfds_immutable(struct dirfds *d, const char *rel)
{
	const char *base;
	struct stat st;
	int dfd, fd, r, flags = 0;

	if ((r = dirfds_parent(d, rel, &dfd, &base)) < 0)
		return r;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return 0;
	/* only regular files and directories: opening them has no side effect */
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 ? 0 : (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) != 0;
	close(fd);
	return r;
}

static int paths_add(char ***v, size_t *n, const char *p)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(p)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int expand_walk(struct dirfds *d, const char *dir, const char *pat, bool rec, char ***v, size_t *n)
{
	char **names = NULL, path[4096];
	size_t k = 0, i;
	int r = dirfds_list(d, dir, &names, &k);

	if (r < 0)
		return r == -ENOMEM ? r : 0;    /* an unreadable directory names nothing */
	for (i = 0; r == 0 && i < k; i++) {
		struct stat st;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
			continue;
		if (dirfds_stat(d, path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && rec)
			r = expand_walk(d, path, pat, rec, v, n);
		else if (S_ISREG(st.st_mode) && (!pat || fnmatch(pat, names[i], 0) == 0))
			r = paths_add(v, n, path);
	}
	names_free(names, k);
	return r;
}

int dirfds_expand(struct dirfds *d, const char *pattern, bool multiple, char ***paths, size_t *n)
{
	char *pat = strdup(pattern), *star, **v = NULL;
	size_t k = 0;
	struct stat st;
	int r = 0;

	if (!pat)
		return -ENOMEM;
	if ((star = strstr(pat, "/**"))) {
		*star = '\0';
		r = expand_walk(d, pat, star[3] == '/' ? star + 4 : NULL, true, &v, &k);
	} else if (strchr(pat, '*') && (star = strrchr(pat, '/'))) {
		*star = '\0';
		r = expand_walk(d, pat, star + 1, false, &v, &k);
	} else if (dirfds_stat(d, pat, &st) == 0) {
		if (S_ISDIR(st.st_mode) && multiple)
			r = expand_walk(d, pat, NULL, true, &v, &k);
		if (r == 0)
			r = paths_add(&v, &k, pat);
	}
	free(pat);
	if (r < 0) {
		names_free(v, k);
		return r;
	}
	*paths = v;
	*n = k;
	return 0;
}
