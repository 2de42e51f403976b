/*
 * The floor that apply is measured against (bench/run.sh part 7): the same
 * files as a profile renders, handled as plainly as a program can.
 *
 *   bench_files read ROOT REF     open and read every file of ROOT that REF
 *                                 holds (one directory fd per directory,
 *                                 O_NOFOLLOW), nothing else
 *   bench_files compare ROOT REF  read every such file of ROOT and of REF and
 *                                 compare them: what a no-op apply must do
 *                                 at the least (it has REF's bytes from
 *                                 rendering, not from disk)
 *   bench_files write ROOT REF    write REF's files under ROOT in batched
 *                                 phases: every temp file (mkdir as needed,
 *                                 O_CREAT|O_EXCL, write, fchmod, close), one
 *                                 syncfs, every rename, one syncfs; what a
 *                                 first apply must do at the least
 *
 * REF is a tree made by `k3s-harden render --out REF`. Prints
 * "files=N bytes=B differ=D" on stdout. Exit 0, or 2 on an error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file {
	char *dir;              /* relative to REF, "" for the top */
	char *name;
	mode_t mode;
};

struct list {
	struct file *v;
	size_t n, cap;
};

static int add(struct list *l, const char *dir, const char *name, mode_t mode)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct file *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].dir = strdup(dir);
	l->v[l->n].name = strdup(name);
	l->v[l->n].mode = mode;
	if (!l->v[l->n].dir || !l->v[l->n].name)
		return -ENOMEM;
	l->n++;
	return 0;
}

/* Every regular file below dirfd (relative path rel), directory by directory. */
static int walk(int dirfd, const char *rel, struct list *l)
{
	DIR *d;
	struct dirent *de;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while (r == 0 && (de = readdir(d))) {
		struct stat st;
		char sub[4096];
		int sfd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			r = add(l, rel, de->d_name, st.st_mode & 07777);
		} else if (S_ISDIR(st.st_mode)) {
			snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
			sfd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0) {
				r = -errno;
				break;
			}
			r = walk(sfd, sub, l);
			close(sfd);
		}
	}
	closedir(d);
	return r;
}

/* One descriptor per directory below top: opened (or made) once, kept. */
struct dirs {
	int top;
	char **path;
	int *fd;
	size_t n;
};

static int dir_fd(struct dirs *D, const char *rel, int create)
{
	char buf[4096], *p;
	size_t i;
	int fd, pfd;

	if (!*rel)
		return D->top;
	for (i = 0; i < D->n; i++)
		if (strcmp(D->path[i], rel) == 0)
			return D->fd[i];
	snprintf(buf, sizeof(buf), "%s", rel);
	p = strrchr(buf, '/');
	if (p) {
		*p = '\0';
		pfd = dir_fd(D, buf, create);
		p++;
	} else {
		pfd = D->top;
		p = buf;
	}
	if (pfd < 0)
		return pfd;
	if (create && mkdirat(pfd, p, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(pfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	D->path = realloc(D->path, (D->n + 1) * sizeof(*D->path));
	D->fd = realloc(D->fd, (D->n + 1) * sizeof(*D->fd));
	if (!D->path || !D->fd)
		return -ENOMEM;
	D->path[D->n] = strdup(rel);
	D->fd[D->n++] = fd;
	return fd;
}

static int read_file(int dirfd, const char *name, char **data, size_t *len)
{
	struct stat st;
	size_t n = 0;
	char *p;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, p + n, (size_t)st.st_size - n);

		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	*data = p;
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	struct list l = { NULL, 0, 0 };
	struct dirs root = { -1, NULL, NULL, 0 }, ref = { -1, NULL, NULL, 0 };
	size_t i, bytes = 0, differ = 0;
	char tmp[4096];
	int r = 0, mode;

	if (argc != 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "compare") && strcmp(argv[1], "write"))) {
		fprintf(stderr, "usage: bench_files read|compare|write ROOT REF\n");
		return 2;
	}
	mode = argv[1][0];
	root.top = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ref.top = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root.top < 0 || ref.top < 0) {
		fprintf(stderr, "bench_files: cannot open '%s' or '%s': %s\n", argv[2], argv[3], strerror(errno));
		return 2;
	}
	r = walk(ref.top, "", &l);
	for (i = 0; r == 0 && i < l.n; i++) {
		char *a = NULL, *b = NULL;
		size_t al = 0, bl = 0;
		int rfd = dir_fd(&ref, l.v[i].dir, 0);
		int hfd = mode == 'w' ? dir_fd(&root, l.v[i].dir, 1) : dir_fd(&root, l.v[i].dir, 0);

		if (rfd < 0 || hfd < 0) {
			r = rfd < 0 ? rfd : hfd;
			break;
		}
		if (mode == 'w') {
			int fd;

			r = read_file(rfd, l.v[i].name, &b, &bl);
			snprintf(tmp, sizeof(tmp), ".%s.tmp", l.v[i].name);
			fd = r < 0 ? -1 : openat(hfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (r == 0 && fd < 0)
				r = -errno;
			if (r == 0 && (write(fd, b, bl) != (ssize_t)bl || fchmod(fd, l.v[i].mode) < 0))
				r = -EIO;
			if (fd >= 0)
				close(fd);
			bytes += bl;
			free(b);
			continue;
		}
		r = read_file(hfd, l.v[i].name, &a, &al);
		if (r == -ENOENT) {
			r = 0;
			differ++;
			continue;
		}
		if (r == 0 && mode == 'c') {
			r = read_file(rfd, l.v[i].name, &b, &bl);
			differ += r == 0 && (al != bl || memcmp(a, b, al) != 0);
		}
		bytes += al;
		free(a);
		free(b);
	}
	if (r == 0 && mode == 'w') {
		if (syncfs(root.top) < 0)
			r = -errno;
		for (i = 0; r == 0 && i < l.n; i++) {
			int hfd = dir_fd(&root, l.v[i].dir, 0);

			snprintf(tmp, sizeof(tmp), ".%s.tmp", l.v[i].name);
			if (hfd < 0 || renameat(hfd, tmp, hfd, l.v[i].name) < 0)
				r = -errno;
		}
		if (r == 0 && syncfs(root.top) < 0)
			r = -errno;
	}
	if (r < 0) {
		fprintf(stderr, "bench_files: %s\n", strerror(-r));
		return 2;
	}
	printf("files=%zu bytes=%zu differ=%zu\n", l.n, bytes, differ);
	return 0;
}
