/*
 * File system helpers for a root tool: every path below --root is walked
 * one component at a time with O_NOFOLLOW, so a planted symlink is refused
 * instead of followed; files are replaced atomically.
 */
#ifndef K3H_FSUTIL_H
#define K3H_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Read a whole regular file from fd (at most max bytes). -EISDIR for a
 * directory, -EINVAL for any other non-regular file, -EFBIG when larger.
 * *data is NUL-terminated. st receives the fstat result.
 */
int read_fd_all(int fd, size_t max, char **data, size_t *len, struct stat *st);

/*
 * Open directory REL (absolute, like "/etc/sysctl.d") below ROOT, refusing
 * symlinks at every component (-ELOOP) and non-directories (-ENOTDIR).
 * With create, missing components are made with mode (the last one) or 0755.


 */
int root_open_dir(const char *root, const char *rel, bool create, mode_t mode,
		  int *dirfd);

/*
 * Open dirfd/name (flags: O_RDONLY or O_WRONLY, plus O_CLOEXEC, O_NOFOLLOW,
 * O_NOCTTY and O_NONBLOCK always) only if it is a regular file, looking at
 * its type before the open: opening a device or FIFO has effects of its own
 * (a watchdog starts its timer, a FIFO blocks). -ELOOP for a symlink,
 * -EISDIR for a directory, -EINVAL for any other non-regular file or one
 * that changed between the look and the open. *st: the open file's fstat.
 */
int open_regular_at(int dirfd, const char *name, int flags, struct stat *st);

/* "a FIFO", "a character device", ... for path (not followed); for messages. */
const char *file_type_name(const char *path);
const char *file_type_name_at(int dirfd, const char *name);

/*
 * Open file REL below ROOT for reading without following symlinks anywhere.
 * -ENOENT when it (or a parent) does not exist, -ELOOP for a symlink,
 * -EISDIR / -EINVAL for a directory / other non-regular file.
 */
int root_read_file(const char *root, const char *rel, size_t max, char **data,
		   size_t *len, struct stat *st);

/*
 * Replace dirfd/name with data: temp file beside it (O_EXCL|O_NOFOLLOW),
 * write, fchmod/fchown, optional fsync, renameat, optional directory fsync.
 * On failure the temp file is removed and the target is untouched.
 */
int write_atomic_at(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, bool sync);

/* write(2) until all of p is written; 0 or -errno. */
int write_all(int fd, const char *p, size_t len);

/* Split "/a/b/c" into dir "/a/b" and base "c" (caller frees both). */
int path_split(const char *path, char **dir, char **base);

/*
 * Names in directory REL below ROOT, sorted with strcmp (K3s's order for
 * config.yaml.d). A missing directory gives an empty list. Free with
 * names_free.
 */
int root_list_dir(const char *root, const char *rel, char ***names, size_t *n);
void names_free(char **names, size_t n);
/* The same for the directory dirfd refers to (dirfd stays open). */
int list_dir_fd(int dirfd, char ***names, size_t *n);

/* lstat-like: metadata of REL below ROOT without following symlinks anywhere. */
int root_stat(const char *root, const char *rel, struct stat *st);

/*
 * Read file REL below ROOT for a file the tool only reads (a K3s drop-in,
 * config.yaml in drop-in mode): symlinks are followed, but resolved inside
 * ROOT as `systemd --root` and chroot do (openat2 RESOLVE_IN_ROOT): an
 * absolute target or one that climbs with .. stays below ROOT, never
 * outside it. Magic links (/proc/self/...) are refused (-ELOOP). The file
 * must be regular (checked before it is opened: -EISDIR / -EINVAL).
 * -ENOSYS on a kernel without openat2 (older than 5.6).
 */
int root_read_file_resolved(const char *root, const char *rel, size_t max, char **data,
			    size_t *len, struct stat *st);

/*
 * Whether REL below ROOT (not following symlinks) carries the immutable or
 * append-only attribute (chattr +i / +a; FS_IOC_GETFLAGS): 1 yes, 0 no or
 * the file system has no such flags, -ENOENT when missing, -errno on error.
 */
int root_immutable(const char *root, const char *rel);

/*
 * Directory descriptors below one root, each opened once and kept for the
 * run: the first use of "/var/lib/rancher/k3s/server/manifests" opens every
 * component with O_NOFOLLOW (as root_open_dir does, -ELOOP for a symlink),
 * later uses of it or of anything below it start from the deepest directory
 * already open. A file is then one openat(dirfd, base) instead of a walk
 * from the root. Only directories that exist are kept (a miss is asked
 * again, so a directory made later is found). Descriptors are borrowed:
 * they stay valid until dirfds_forget of that directory (or a parent), or
 * dirfds_free.
 */
struct dirfds;

int dirfds_new(const char *root, struct dirfds **out);
void dirfds_free(struct dirfds *d);
/* The directory REL (absolute below the root); create as root_open_dir. */
int dirfds_get(struct dirfds *d, const char *rel, bool create, mode_t mode, int *fd);
/* The directory holding PATH, and PATH's last component (points into path). */
int dirfds_parent(struct dirfds *d, const char *path, int *fd, const char **base);
/* REL (and everything below it) was removed or replaced: close and drop. */
void dirfds_forget(struct dirfds *d, const char *rel);
/* root_read_file, root_stat and root_list_dir through the kept descriptors. */
int dirfds_read_file(struct dirfds *d, const char *rel, size_t max, char **data,
		     size_t *len, struct stat *st);
int dirfds_stat(struct dirfds *d, const char *rel, struct stat *st);
int dirfds_list(struct dirfds *d, const char *rel, char ***names, size_t *n);
/*
 * The first component of REL that is a symbolic link (what made a use of
 * REL fail with -ELOOP): its path below the root into link, what it points
 * to into target. 1 when found, 0 when no component is a link, -errno.
 */
int dirfds_first_link(struct dirfds *d, const char *rel, char *link, size_t link_size,
		      char *target, size_t target_size);
/* Directories opened so far (each open counted once): for tests and figures. */
unsigned dirfds_opened(const struct dirfds *d);
/* root_immutable through the kept descriptors. */
int dirfds_immutable(struct dirfds *d, const char *rel);
/*
 * The paths a benchmark's file pattern names, as kube-bench reads them,
 * walking directories through d (no shell, no glob(3)): DIR then "/" and
 * two stars: every regular file below DIR, and with "/PAT" after them,
 * those whose name matches PAT (fnmatch) at any depth; "DIR/PAT" with a
 * star in PAT: the regular files of DIR that match; a plain path: itself
 * (with multiple and a directory, every regular file below it too).
 * Symbolic links are never followed or listed. Missing paths give no
 * entries. Free with names_free.
 */
int dirfds_expand(struct dirfds *d, const char *pattern, bool multiple, char ***paths, size_t *n);

#endif
