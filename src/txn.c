#include "txn.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "hidx.h"
#include "sha256.h"
#include "sysctl.h"

#define BACKUP_MAX (64 * 1024 * 1024)
#define TMP_SUFFIX ".k3s-harden.tmp"
#define JOURNAL_MAX (1024 * 1024)

/* The one name table of entry kinds: the on-disk letter and a name. */
static const struct { char letter; const char *name; } gen_kinds[] = {
	[GEN_FILE] = { 'F', "file" },
	[GEN_DIR_MADE] = { 'M', "dir-made" },
	[GEN_DIR_META] = { 'D', "dir-meta" },
	[GEN_DIR_REMOVED] = { 'R', "dir-removed" },
	[GEN_MODE] = { 'P', "mode" },
};

/* The flag set on disk: r restart, s sysctl, m manifest, "-" for none. */
static const struct { unsigned flag; char letter; } gen_flags[] = {
	{ CHANGE_RESTART, 'r' }, { CHANGE_SYSCTL, 's' }, { CHANGE_MANIFEST, 'm' },
};

const char *gen_kind_name(enum gen_kind k)
{
	return (unsigned)k < sizeof(gen_kinds) / sizeof(gen_kinds[0]) ? gen_kinds[k].name : "?";
}

static int gen_kind_of(char letter, enum gen_kind *k)
{
	size_t i;

	for (i = 0; i < sizeof(gen_kinds) / sizeof(gen_kinds[0]); i++)
		if (gen_kinds[i].letter == letter) {
			*k = (enum gen_kind)i;
			return 0;
		}
	return -EBADMSG;
}

static void flags_text(unsigned flags, char *out)
{
	size_t i, k = 0;

	for (i = 0; i < sizeof(gen_flags) / sizeof(gen_flags[0]); i++)
		if (flags & gen_flags[i].flag)
			out[k++] = gen_flags[i].letter;
	if (!k)
		out[k++] = '-';
	out[k] = '\0';
}

static unsigned flags_of(const char *text)
{
	unsigned flags = 0;
	size_t i;

	for (i = 0; i < sizeof(gen_flags) / sizeof(gen_flags[0]); i++)
		if (strchr(text, gen_flags[i].letter))
			flags |= gen_flags[i].flag;
	return flags;
}

struct txn {
	struct txn_opts o;
	char profile[64];
	char unit[128];
	char role[16];                  /* "" when not set: no role line */
	char k3s_version[64], benchmark[64];    /* "": no k3s-version / benchmark line */
	int state_fd, backups_fd, lock_fd;
	struct dirfds *dirs;            /* each directory of the root opened once per transaction */
	char noted[4096];               /* the directory note_missing_dirs last did for a file */
	char id[16];
	const struct change *v;
	size_t n;
	struct gen_entry *entries;
	char **k_keys, **k_old;         /* kernel values recorded in the journal */
	size_t n_kernel;
	size_t n_entries;
	bool journal;
	struct txn_stats stats;
	const char *cf_name, *cf_data;  /* txn_commit_file */
	size_t cf_len;
	int *cf_result;
	struct buf sums;                /* the journal's "manifest SUM" and "blob NAME SUM" lines */
	bool record;                    /* the commit record is in place (the commit may still fail) */
};

/* ---- small helpers ---- */

/*
 * The journal's checksum of data, 16 hex digits: 64 bits, eight bytes a
 * step (sha256 of a 10,000-entry manifest cost more than its writing). It
 * tells a write a crash cut short or left unwritten, not a forgery: the
 * state directory is root's alone.
 */
static void sum_hex(const void *data, size_t len, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)hidx_hash_seeded(data, len, 0x9e3779b97f4a7c15ULL));
}

static int do_syncfs(struct txn *t, int fd)
{
	t->stats.syncs++;
	return syncfs(fd) < 0 ? -errno : 0;
}

static int do_fsync(struct txn *t, int fd)
{
	t->stats.syncs++;
	return fsync(fd) < 0 ? -errno : 0;
}

/* Create dirfd/name fresh (O_EXCL, no symlinks) with data, mode, owner. */
static int create_file_at(int dirfd, const char *name, const char *data, size_t len,
			  mode_t mode, uid_t uid, gid_t gid)
{
	int fd, r;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fchown(fd, uid, gid) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlinkat(dirfd, name, 0);
	return r;
}

/*
 * Give the regular file at path mode and owner through an fd of its own
 * (fchmod on the open file: no path is followed; O_PATH fds cannot be
 * fchmod-ed, so it is opened for reading, which reads nothing: the file
 * may be a key). Only what differs is changed. -ENOENT when it is gone.
 */
static int set_mode_at(struct txn *t, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	const char *base = NULL;
	struct stat st;
	int dfd, fd, r;

	r = dirfds_parent(t->dirs, path, &dfd, &base);
	if (r < 0)
		return r;
	fd = open_regular_at(dfd, base, O_RDONLY, &st);
	if (fd < 0)
		return fd;
	r = 0;
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && (st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The directory of path (borrowed from the run's kept descriptors) and its name in it. */
static int open_parent(struct txn *t, const char *path, int *dfd, const char **base)
{
	return dirfds_parent(t->dirs, path, dfd, base);
}

static void tmp_name(char *out, size_t size, const char *base)
{
	snprintf(out, size, ".%s" TMP_SUFFIX, base);
}

/* Why read_at failed, for a message. */
static const char *unreadable(int r)
{
	switch (r) {
	case -ELOOP: return "it is a symbolic link";
	case -EINVAL: return "it is not a regular file (a FIFO, device or socket)";
	case -EISDIR: return "it is a directory";
	default: return strerror(-r);
	}
}

static int read_at(int dirfd, const char *name, size_t max, char **data, size_t *len)
{
	struct stat st;
	int fd, r;

	/* looked at before it is opened: a FIFO blocks, a device acts on an open */
	fd = open_regular_at(dirfd, name, O_RDONLY, &st);
	if (fd < 0)
		return fd;
	r = read_fd_all(fd, max, data, len, &st);
	close(fd);
	return r;
}

/* ---- manifest ---- */

static void entries_add(struct txn *t, const struct gen_entry *e, int *r)
{
	struct gen_entry *v;

	if (*r < 0)
		return;
	v = realloc(t->entries, (t->n_entries + 1) * sizeof(*v));
	if (!v) {
		*r = -ENOMEM;
		return;
	}
	t->entries = v;
	v[t->n_entries] = *e;
	v[t->n_entries].path = strdup(e->path);
	v[t->n_entries].blob = e->blob ? strdup(e->blob) : NULL;
	if (!v[t->n_entries].path || (e->blob && !v[t->n_entries].blob)) {
		free(v[t->n_entries].path);
		free(v[t->n_entries].blob);
		*r = -ENOMEM;
		return;
	}
	t->n_entries++;
}

void gen_entries_free(struct gen_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].blob);
	}
	free(v);
}

static bool have_dir_entry(const struct txn *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n_entries; i++)
		if (t->entries[i].kind == GEN_DIR_MADE && strcmp(t->entries[i].path, path) == 0)
			return true;
	return false;
}

/* Record every missing directory from the top down to path itself (if dir). */
static int note_missing_dirs(struct txn *t, const char *path, bool include_self, mode_t self_mode)
{
	char buf[4096];
	size_t i, len = strlen(path);
	int r = 0;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	/* files of one directory come in a row (1,000 manifests): once is enough */
	if (!include_self) {
		const char *s = strrchr(path, '/');
		size_t dl = s ? (size_t)(s - path) : 0;

		if (dl && strlen(t->noted) == dl && strncmp(t->noted, path, dl) == 0)
			return 0;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len && r == 0; i++) {
		struct stat st;
		struct gen_entry e;
		bool last = i == len;

		if (!last && buf[i] != '/')
			continue;
		if (last && !include_self)
			break;
		buf[i] = '\0';
		r = dirfds_stat(t->dirs, buf, &st);
		if (r == 0) {
			if (S_ISLNK(st.st_mode))
				r = -ELOOP;
			else if (!S_ISDIR(st.st_mode))
				r = -ENOTDIR;
		} else if (r == -ENOENT) {
			r = 0;
			if (!have_dir_entry(t, buf)) {
				memset(&e, 0, sizeof(e));
				e.kind = GEN_DIR_MADE;
				e.path = buf;
				e.mode = last ? self_mode : 0755;
				entries_add(t, &e, &r);
			}
		}
		if (!last)
			buf[i] = '/';
	}
	if (r == 0 && !include_self) {
		const char *s = strrchr(path, '/');
		size_t dl = s ? (size_t)(s - path) : 0;

		memcpy(t->noted, path, dl);
		t->noted[dl] = '\0';
	}
	return r;
}

/* " N" in decimal, or "%04o" of N with octal (the manifest's number fields, without vsnprintf) */
static int add_num(struct buf *b, unsigned long v, bool octal)
{
	char d[24];
	size_t k = sizeof(d);
	unsigned base = octal ? 8 : 10;

	do {
		d[--k] = (char)('0' + v % base);
		v /= base;
	} while (v);
	while (octal && sizeof(d) - k < 4)
		d[--k] = '0';
	d[--k] = ' ';
	return buf_add(b, d + k, sizeof(d) - k);
}

static int manifest_text(struct txn *t, struct buf *b)
{
	size_t i;
	int r;

	r = buf_printf(b, "k3s-harden-generation 1\nid %s\ntime %lld\nprofile %s\nkind %s\nunit %s\n"
		       "retention %u\n", t->id, (long long)time(NULL), t->profile, t->o.kind,
		       t->unit[0] ? t->unit : "-", t->o.retention);
	if (r == 0 && t->role[0])
		r = buf_printf(b, "role %s\n", t->role);
	if (r == 0 && t->k3s_version[0])
		r = buf_printf(b, "k3s-version %s\n", t->k3s_version);
	if (r == 0 && t->benchmark[0])
		r = buf_printf(b, "benchmark %s\n", t->benchmark);
	for (i = 0; i < t->n_entries && r == 0; i++) {
		const struct gen_entry *e = &t->entries[i];
		char flags[8];

		flags_text(e->flags, flags);
		/* "%c %d %04o %u %u %s %s %s\n", by hand: 10,000 entries through vsnprintf cost 20 ms */
		r = buf_addc(b, gen_kinds[e->kind].letter);
		if (r == 0)
			r = add_num(b, e->existed ? 1 : 0, false);
		if (r == 0)
			r = add_num(b, (unsigned long)e->mode, true);
		if (r == 0)
			r = add_num(b, (unsigned long)e->uid, false);
		if (r == 0)
			r = add_num(b, (unsigned long)e->gid, false);
		if (r == 0)
			r = buf_addc(b, ' ');
		if (r == 0)
			r = buf_adds(b, e->blob ? e->blob : "-");
		if (r == 0)
			r = buf_addc(b, ' ');
		if (r == 0)
			r = buf_adds(b, flags);
		if (r == 0)
			r = buf_addc(b, ' ');
		if (r == 0)
			r = buf_adds(b, e->path);
		if (r == 0)
			r = buf_addc(b, '\n');
	}
	return r;
}

static int parse_manifest(const char *text, struct generation *g, struct gen_entry **out, size_t *n)
{
	struct txn tmp;
	const char *p = text;
	enum gen_kind kind;
	int r = 0;

	memset(&tmp, 0, sizeof(tmp));
	memset(g, 0, sizeof(*g));
	if (strncmp(p, "k3s-harden-generation 1\n", 24) != 0)
		return -EBADMSG;
	while (*p && r == 0) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char line[4400];

		if (l >= sizeof(line))
			return -EBADMSG;
		memcpy(line, p, l);
		line[l] = '\0';
		p += l + (nl ? 1 : 0);
		if (sscanf(line, "id %15s", g->id) == 1 || sscanf(line, "time %lld", &g->time) == 1 ||
		    sscanf(line, "profile %63s", g->profile) == 1 || sscanf(line, "kind %15s", g->kind) == 1 ||
		    sscanf(line, "unit %127s", g->unit) == 1 || sscanf(line, "retention %u", &g->retention) == 1 ||
		    sscanf(line, "role %15s", g->role) == 1 ||
		    sscanf(line, "k3s-version %63s", g->k3s_version) == 1 ||
		    sscanf(line, "benchmark %63s", g->benchmark) == 1)
			continue;
		if (line[0] && line[1] == ' ' && gen_kind_of(line[0], &kind) == 0) {
			struct gen_entry e;
			unsigned existed, mode, uid, gid;
			char blob[64], flags[16];
			int pos = 0;

			memset(&e, 0, sizeof(e));
			if (sscanf(line + 2, "%u %o %u %u %63s %15s %n", &existed, &mode, &uid, &gid,
				   blob, flags, &pos) != 6 || pos == 0 || line[2 + pos] != '/')
				return -EBADMSG;
			if (gen_kind_of(line[0], &e.kind) < 0)
				return -EBADMSG;
			e.existed = existed != 0;
			e.mode = (mode_t)mode;
			e.uid = (uid_t)uid;
			e.gid = (gid_t)gid;
			e.blob = strcmp(blob, "-") == 0 ? NULL : blob;
			e.flags = flags_of(flags);
			e.path = line + 2 + pos;
			entries_add(&tmp, &e, &r);
			if (e.kind == GEN_FILE)
				g->files++;
		}
	}
	if (r < 0 || !g->id[0]) {
		gen_entries_free(tmp.entries, tmp.n_entries);
		return r < 0 ? r : -EBADMSG;
	}
	*out = tmp.entries;
	*n = tmp.n_entries;
	return 0;
}

/* ---- state directory, lock, ids ---- */

static int open_state(struct txn *t)
{
	int r;

	r = root_open_dir(t->o.root, TXN_STATE_DIR, true, 0700, &t->state_fd);
	if (r < 0)
		return r;
	if (fchmod(t->state_fd, 0700) < 0)
		return -errno;
	if (mkdirat(t->state_fd, "backups", 0700) < 0 && errno != EEXIST)
		return -errno;
	t->backups_fd = openat(t->state_fd, "backups", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t->backups_fd < 0)
		return errno == ENOTDIR ? -ELOOP : -errno;
	return fchmod(t->backups_fd, 0700) < 0 ? -errno : 0;
}

static int take_lock(struct txn *t)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned waited = 0;

	t->lock_fd = openat(t->state_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t->lock_fd < 0)
		return -errno;
	while (flock(t->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (waited >= t->o.lock_timeout_ms)
			return -EWOULDBLOCK;
		nanosleep(&ts, NULL);
		waited += 50;
	}
	return 0;
}

static int next_id(struct txn *t)
{
	char **names = NULL;
	size_t n = 0, i;
	unsigned long max = 0;
	int r;

	r = list_dir_fd(t->backups_fd, &names, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		unsigned long v = strtoul(names[i], NULL, 10);

		if (v > max)
			max = v;
	}
	names_free(names, n);
	snprintf(t->id, sizeof(t->id), "%06lu", max + 1);
	return 0;
}

static int set_state(struct txn *t, const char *id, const char *state)
{
	int gfd, r;

	gfd = openat(t->backups_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (gfd < 0)
		return -errno;
	t->stats.syncs += 2;
	r = write_atomic_at(gfd, "state", state, strlen(state), 0600, 0, 0, true);
	close(gfd);
	return r;
}

static int remove_gen_dir(int backups_fd, const char *name)
{
	char **names = NULL;
	size_t n = 0, i;
	DIR *d;
	struct dirent *de;
	int fd;

	fd = openat(backups_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char **v;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		v = realloc(names, (n + 1) * sizeof(*v));
		if (!v)
			break;
		names = v;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	for (i = 0; i < n; i++)
		unlinkat(dirfd(d), names[i], 0);
	names_free(names, n);
	closedir(d);
	return unlinkat(backups_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* ---- the journal: the generation to undo, and old kernel values ---- */

/* Kernel values may hold blanks and tabs: one word, %XX for the rest. */
static int add_escaped(struct buf *b, const char *v)
{
	int r = 0;

	for (; *v && r == 0; v++) {
		unsigned char ch = (unsigned char)*v;

		r = ch <= ' ' || ch == '%' || ch == 0x7f ? buf_printf(b, "%%%02X", ch) : buf_addc(b, (char)ch);
	}
	return r;
}

static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned v;

		if (s[i] == '%' && i + 2 < len && sscanf(s + i + 1, "%2X", &v) == 1) {
			*o++ = (char)v;
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void kernel_free(char **keys, char **old, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(keys[i]);
		free(old[i]);
	}
	free(keys);
	free(old);
}

static int kernel_add(char ***keys, char ***old, size_t *n, const char *key, size_t klen,
		      const char *value, size_t vlen)
{
	char **k = realloc(*keys, (*n + 1) * sizeof(*k)), **o;

	if (!k)
		return -ENOMEM;
	*keys = k;
	o = realloc(*old, (*n + 1) * sizeof(*o));
	if (!o)
		return -ENOMEM;
	*old = o;
	k[*n] = strndup(key, klen);
	o[*n] = unescape(value, vlen);
	if (!k[*n] || !o[*n]) {
		free(k[*n]);
		free(o[*n]);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/*
 * Journal format 2: "k3s-harden-journal 2", "id ID", the checksum
 * (sum_hex) of the generation's manifest ("manifest SUM") and of each
 * backup ("blob NAME SUM"), the "kernel KEY VALUE" lines, and last "end
 * SUM", the checksum of every byte before that line. The journal, the generation and its backups
 * are made durable by one syncfs before any target is touched, so a journal
 * that is incomplete or whose generation does not match its sums was cut by
 * a crash before that sync: nothing had changed (recovery drops both).
 * Format 1 (no sums, no end line) is still read and trusted as before.
 */
static int journal_text(struct txn *t, struct buf *b)
{
	char sum[17];
	size_t i;
	int r;

	r = buf_printf(b, "k3s-harden-journal 2\nid %s\n", t->id);
	if (r == 0 && t->sums.len)
		r = buf_add(b, t->sums.data, t->sums.len);
	for (i = 0; i < t->n_kernel && r == 0; i++) {
		r = buf_printf(b, "kernel %s ", t->k_keys[i]);
		if (r == 0)
			r = add_escaped(b, t->k_old[i]);
		if (r == 0)
			r = buf_addc(b, '\n');
	}
	if (r == 0) {
		sum_hex(b->data, b->len, sum);
		r = buf_printf(b, "end %s\n", sum);
	}
	return r;
}

/* A format 2 journal's "end SUM" line: last, and the sum of what is before it. */
static bool journal_complete(const char *text, size_t len)
{
	char sum[17];
	size_t tail = 4 + 16 + 1;

	if (len < tail || text[len - 1] != '\n' || strncmp(text + len - tail, "end ", 4) != 0 ||
	    (len > tail && text[len - tail - 1] != '\n'))
		return false;
	sum_hex(text, len - tail, sum);
	return memcmp(sum, text + len - tail + 4, 16) == 0;
}

/* 0 when file name in gfd has the checksum sum (16 hex digits). */
static int sum_matches(int gfd, const char *name, const char *sum)
{
	char *data = NULL, got[17];
	size_t len = 0;
	int r = read_at(gfd, name, BACKUP_MAX, &data, &len);

	if (r == 0) {
		sum_hex(data, len, got);
		r = strlen(sum) == 16 && memcmp(got, sum, 16) == 0 ? 0 : -EBADMSG;
	}
	free(data);
	return r;
}

/* Every "manifest SUM" and "blob NAME SUM" line of a format 2 journal matches generation gfd. */
static int journal_sums_match(const char *text, int gfd)
{
	const char *p = text;
	int r = 0;

	while (*p && r == 0) {
		const char *nl = strchr(p, '\n');
		char name[64], sum[17];

		if (sscanf(p, "manifest %16[0-9a-f]", sum) == 1)
			r = sum_matches(gfd, "manifest", sum);
		else if (sscanf(p, "blob %63[^ \n] %16[0-9a-f]", name, sum) == 2)
			r = name[0] == '.' || strchr(name, '/') ? -EINVAL : sum_matches(gfd, name, sum);
		p = nl ? nl + 1 : p + strlen(p);
	}
	return r;
}

static int write_journal(struct txn *t)
{
	struct buf b = BUF_INIT;
	int r = journal_text(t, &b);

	t->stats.syncs += 2;
	if (r == 0)
		r = write_atomic_at(t->state_fd, "journal", b.data, b.len, 0600, 0, 0, true);
	buf_free(&b);
	return r;
}

/* syncfs the file system of fd, and the state directory's when that is another one. */
static int sync_with_state(struct txn *t, int fd)
{
	struct stat a, b;
	int r = do_syncfs(t, fd);

	if (r == 0 && fstat(fd, &a) == 0 && fstat(t->state_fd, &b) == 0 && a.st_dev != b.st_dev)
		r = do_syncfs(t, t->state_fd);
	return r;
}

/* The "kernel KEY VALUE" lines of a journal. */
static int parse_journal_kernel(const char *text, char ***keys, char ***old, size_t *n)
{
	const char *p = text;
	int r = 0;

	while (*p && r == 0) {
		const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p), *sp;

		if (strncmp(p, "kernel ", 7) == 0 && (sp = memchr(p + 7, ' ', (size_t)(end - p - 7))))
			r = kernel_add(keys, old, n, p + 7, (size_t)(sp - p - 7), sp + 1,
				       (size_t)(end - sp - 1));
		p = nl ? nl + 1 : end;
	}
	return r;
}

/* Put recorded kernel values back, the last set first. */
static void restore_kernel(struct txn *t, char *const *keys, char *const *old, size_t n,
			   struct diags *e)
{
	size_t i;

	for (i = n; i-- > 0;) {
		char *now = NULL;
		int r;

		if (sysctl_get(t->o.root, keys[i], &now) == 0 && sysctl_equal(now, old[i])) {
			free(now);
			continue;
		}
		free(now);
		r = sysctl_set(t->o.root, keys[i], old[i]);
		if (r < 0)
			diags_add(e, "k3s-harden", 0, 0, "could not put kernel parameter %s back to %s: %s",
				  keys[i], old[i], strerror(-r));
	}
}

int txn_record_kernel(struct txn *t, char *const *keys, char *const *old, size_t n,
		      struct diags *e)
{
	size_t i, j;
	int r = 0;

	if (!t->journal)
		return -EINVAL;
	for (i = 0; i < n && r == 0; i++) {
		bool seen = false;

		if (!old[i])
			continue;
		/* the first old value of a key is the one to go back to */
		for (j = 0; j < t->n_kernel; j++)
			seen |= strcmp(t->k_keys[j], keys[i]) == 0;
		if (!seen)
			r = kernel_add(&t->k_keys, &t->k_old, &t->n_kernel, keys[i], strlen(keys[i]),
				       "", 0);
		if (r == 0 && !seen) {
			free(t->k_old[t->n_kernel - 1]);
			t->k_old[t->n_kernel - 1] = strdup(old[i]);
			if (!t->k_old[t->n_kernel - 1])
				r = -ENOMEM;
		}
	}
	if (r == 0)
		r = write_journal(t);
	if (r < 0)
		diags_add(e, "k3s-harden", 0, 0, "cannot record the old kernel values in the journal: %s",
			  strerror(-r));
	return r;
}

/* ---- restore ---- */

static int restore_entries(struct txn *t, const char *id, struct gen_entry *v, size_t n,
			   struct diags *e)
{
	size_t i;
	bool *done;
	int gfd, failed = 0, r;

	gfd = openat(t->backups_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (gfd < 0)
		return -errno;
	done = calloc(n + 1, sizeof(*done));
	if (!done) {
		close(gfd);
		return -ENOMEM;
	}
	/* directories the transaction removed come back first, parents before children */
	for (;;) {
		size_t j, best = n;
		int dfd;

		for (j = 0; j < n; j++)
			if (v[j].kind == GEN_DIR_REMOVED && !done[j] &&
			    (best == n || strlen(v[j].path) < strlen(v[best].path)))
				best = j;
		if (best == n)
			break;
		r = dirfds_get(t->dirs, v[best].path, true, v[best].mode, &dfd);
		if (r == 0) {
			if (fchmod(dfd, v[best].mode) < 0 || fchown(dfd, v[best].uid, v[best].gid) < 0)
				r = -errno;
		}
		if (r < 0) {
			diags_add(e, "k3s-harden", 0, 0, "cannot make directory '%s' again: %s; by hand: "
				  "mkdir -m %04o %s%s", v[best].path, strerror(-r), (unsigned)v[best].mode,
				  strcmp(t->o.root, "/") ? t->o.root : "", v[best].path);
			failed++;
		}
		done[best] = true;
	}
	for (i = n; i-- > 0;) {
		struct gen_entry *g = &v[i];
		const char *base = NULL;
		char tmp[300];
		int dfd;

		if (g->kind == GEN_DIR_MADE || g->kind == GEN_DIR_REMOVED)
			continue;
		if (g->kind == GEN_MODE) {
			r = set_mode_at(t, g->path, g->mode, g->uid, g->gid);
			if (r < 0 && r != -ENOENT) {
				diags_add(e, "k3s-harden", 0, 0, "cannot put back the mode of '%s' (%s); by hand: "
					  "chmod %04o %s%s && chown %u:%u %s%s", g->path, unreadable(r),
					  (unsigned)g->mode, strcmp(t->o.root, "/") ? t->o.root : "", g->path,
					  (unsigned)g->uid, (unsigned)g->gid, strcmp(t->o.root, "/") ? t->o.root : "",
					  g->path);
				failed++;
			}
			continue;       /* one gone since stays gone */
		}
		r = open_parent(t, g->path, &dfd, &base);
		if (r == -ENOENT && g->kind == GEN_FILE && !g->existed)
			continue;       /* its directory is gone: so is the file */
		if (r < 0) {
			diags_add(e, "k3s-harden", 0, 0, "cannot open the directory of '%s': %s", g->path, strerror(-r));
			failed++;
			continue;
		}
		tmp_name(tmp, sizeof(tmp), base);
		unlinkat(dfd, tmp, 0);
		if (g->kind == GEN_DIR_META) {
			struct stat st;

			if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
				int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				r = fd < 0 ? -errno : 0;
				if (r == 0 && (fchmod(fd, g->mode) < 0 || fchown(fd, g->uid, g->gid) < 0))
					r = -errno;
				if (fd >= 0)
					close(fd);
			}
		} else if (g->existed) {
			char *data = NULL, *now = NULL;
			size_t len = 0, now_len = 0;
			struct stat st;
			bool same;

			r = read_at(gfd, g->blob, BACKUP_MAX, &data, &len);
			/* a file the transaction never replaced is left alone: rewriting it
			 * would need free space, which a full disk does not have */
			same = r == 0 && dirfds_read_file(t->dirs, g->path, BACKUP_MAX, &now, &now_len, &st) == 0 &&
			       now_len == len && memcmp(now, data, len) == 0 && (st.st_mode & 07777) == g->mode &&
			       st.st_uid == g->uid && st.st_gid == g->gid;
			free(now);
			if (same) {
				free(data);
				continue;
			}
			if (r == 0)
				r = create_file_at(dfd, tmp, data, len, g->mode, g->uid, g->gid);
			if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
				r = -errno;
			free(data);
			if (r < 0) {
				unlinkat(dfd, tmp, 0);
				diags_add(e, "k3s-harden", 0, 0,
					  "cannot restore '%s' (%s); by hand: cp %s%s/backups/%s/%s %s%s && "
					  "chmod %04o %s%s && chown %u:%u %s%s",
					  g->path, unreadable(r), strcmp(t->o.root, "/") ? t->o.root : "",
					  TXN_STATE_DIR, id, g->blob, strcmp(t->o.root, "/") ? t->o.root : "",
					  g->path, (unsigned)g->mode, strcmp(t->o.root, "/") ? t->o.root : "", g->path,
					  (unsigned)g->uid, (unsigned)g->gid,
					  strcmp(t->o.root, "/") ? t->o.root : "", g->path);
				failed++;
			}
		} else if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT) {
			r = -errno;
			diags_add(e, "k3s-harden", 0, 0, "cannot remove '%s', which the transaction created: %s; "
				  "by hand: rm %s%s", g->path, strerror(-r),
				  strcmp(t->o.root, "/") ? t->o.root : "", g->path);
			failed++;
		}
	}
	/* directories we made, deepest first; one that is not empty stays */
	for (i = n; i-- > 0;) {
		const char *base = NULL;
		int dfd;

		if (v[i].kind != GEN_DIR_MADE)
			continue;
		if (open_parent(t, v[i].path, &dfd, &base) < 0)
			continue;
		if (unlinkat(dfd, base, AT_REMOVEDIR) == 0)
			dirfds_forget(t->dirs, v[i].path);
	}
	free(done);
	r = do_syncfs(t, gfd);
	close(gfd);
	if (failed)
		return -EIO;
	return r;
}

/* A stream over directory dirfd (its own descriptor: dirfd stays open). */
static DIR *dir_at(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

/*
 * The commit's temps a run killed between its renames left in generation
 * gfd (".NAME.k3s-harden-PID-c", made durable before the first rename):
 * renamed into place.
 */
static void finish_commit(int gfd)
{
	DIR *d = dir_at(gfd);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char name[256];
		const char *k = strstr(de->d_name, ".k3s-harden-");
		size_t l = strlen(de->d_name), nl;

		if (de->d_name[0] != '.' || !k || l < 3 || strcmp(de->d_name + l - 2, "-c") != 0)
			continue;
		nl = (size_t)(k - de->d_name - 1);
		if (nl == 0 || nl >= sizeof(name))
			continue;
		memcpy(name, de->d_name + 1, nl);
		name[nl] = '\0';
		if (strcmp(name, "state") != 0)
			renameat(gfd, de->d_name, gfd, name);
	}
	closedir(d);
	fsync(gfd);
}

/* Temp files of atomic writes (".NAME.k3s-harden-PID-N") a killed run left. */
static void remove_stale_temps(int dirfd)
{
	DIR *d = dir_at(dirfd);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && strstr(de->d_name, ".k3s-harden-"))
			unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}

static int recover(struct txn *t, bool *recovered, struct diags *e)
{
	char *data = NULL, id[16] = "";
	size_t len, i, n = 0;
	char **names = NULL;
	struct generation g;
	struct gen_entry *v = NULL;
	char **k_keys = NULL, **k_old = NULL;
	size_t nv = 0, n_kernel = 0;
	int r;

	*recovered = false;
	r = read_at(t->state_fd, "journal", JOURNAL_MAX, &data, &len);
	if (r == 0) {
		bool v2 = len >= 21 && memcmp(data, "k3s-harden-journal 2\n", 21) == 0;

		if (v2 && !journal_complete(data, len)) {
			/* cut short by a crash before the prepare's sync: nothing had changed */
			free(data);
			unlinkat(t->state_fd, "journal", 0);
			goto tidy;
		}
		if (sscanf(data, v2 ? "k3s-harden-journal 2\nid %15s" : "k3s-harden-journal 1\nid %15s",
			   id) != 1 || strchr(id, '/') || id[0] == '.') {
			free(data);
			diags_add(e, "k3s-harden", 0, 0, "journal is damaged; move it away to go on");
			return -EBADMSG;
		}
		r = parse_journal_kernel(data, &k_keys, &k_old, &n_kernel);
		if (r < 0) {
			free(data);
			kernel_free(k_keys, k_old, n_kernel);
			return r;
		}
		{
			char *text = NULL, *state = NULL;
			size_t tl, sl;
			int gfd = openat(t->backups_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			r = gfd >= 0 && v2 ? journal_sums_match(data, gfd) : 0;
			if (r == -EBADMSG || r == -ENOENT) {
				/* the generation is not what the journal says (a file short,
				 * different or missing): the crash came before the prepare's
				 * sync, when no target had been touched */
				close(gfd);
				gfd = -1;
				id[0] = '\0';  /* tidy drops the prepared generation */
			} else if (r < 0) {
				/* unreadable (not a regular file, an I/O error): not a sign of
				 * a cut write, so nothing is dropped */
				free(data);
				close(gfd);
				diags_add(e, "k3s-harden", 0, 0,
					  "cannot read generation %s to undo the interrupted transaction: %s",
					  id, unreadable(r));
				kernel_free(k_keys, k_old, n_kernel);
				return r;
			}
			free(data);
			if (gfd < 0) {
				/* the journal is written after the generation: no generation, nothing changed */
				kernel_free(k_keys, k_old, n_kernel);
				unlinkat(t->state_fd, "journal", 0);
				goto tidy;
			}
			if (read_at(gfd, "state", 256, &state, &sl) == 0 && strncmp(state, "committed", 9) == 0) {
				/* killed after the commit record, before the journal was removed:
				 * the record is made durable only after every target, so the
				 * generation is whole; finish the commit */
				free(state);
				finish_commit(gfd);
				close(gfd);
				kernel_free(k_keys, k_old, n_kernel);
				if (unlinkat(t->state_fd, "journal", 0) < 0)
					return -errno;
				do_fsync(t, t->state_fd);
				goto tidy;
			}
			free(state);
			r = read_at(gfd, "manifest", BACKUP_MAX, &text, &tl);
			close(gfd);
			if (r == 0)
				r = parse_manifest(text, &g, &v, &nv);
			free(text);
			if (r < 0) {
				diags_add(e, "k3s-harden", 0, 0,
					  "cannot read generation %s to undo the interrupted transaction: %s",
					  id, unreadable(r));
				kernel_free(k_keys, k_old, n_kernel);
				return r;
			}
		}
		r = restore_entries(t, id, v, nv, e);
		gen_entries_free(v, nv);
		/* the files are old again: so must the kernel values be */
		if (r == 0)
			restore_kernel(t, k_keys, k_old, n_kernel, e);
		kernel_free(k_keys, k_old, n_kernel);
		if (r < 0)
			return r;
		set_state(t, id, "interrupted");
		if (unlinkat(t->state_fd, "journal", 0) < 0)
			return -errno;
		do_fsync(t, t->state_fd);
		*recovered = true;
		snprintf(t->id, sizeof(t->id), "%s", id);
	} else if (r != -ENOENT) {
		diags_add(e, "k3s-harden", 0, 0, "cannot read the journal %s/journal: %s; move it away "
			  "to go on", TXN_STATE_DIR, unreadable(r));
		return r;
	}
tidy:
	remove_stale_temps(t->state_fd);
	/* generations that never got a journal changed nothing: drop them */
	r = list_dir_fd(t->backups_fd, &names, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		char *state = NULL;
		size_t sl;
		int gfd;

		if (strstr(names[i], ".tmp")) {
			remove_gen_dir(t->backups_fd, names[i]);
			continue;
		}
		gfd = openat(t->backups_fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (gfd < 0)
			continue;
		remove_stale_temps(gfd);
		if (read_at(gfd, "state", 256, &state, &sl) == 0 && strncmp(state, "prepared", 8) == 0 &&
		    strcmp(names[i], id) != 0)
			remove_gen_dir(t->backups_fd, names[i]);
		free(state);
		close(gfd);
	}
	names_free(names, n);
	return 0;
}

/* ---- the transaction ---- */

static int remove_dirs(struct txn *t, struct diags *e);

int txn_open(const struct txn_opts *o, struct txn **out, bool *recovered, struct diags *e)
{
	struct txn *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->o = *o;
	txn_set_profile(t, o->profile);
	t->state_fd = t->backups_fd = t->lock_fd = -1;
	r = dirfds_new(o->root, &t->dirs);
	if (r == 0)
		r = open_state(t);
	if (r < 0) {
		diags_add(e, "k3s-harden", 0, 0, "cannot open the state directory '%s': %s%s", TXN_STATE_DIR,
			  strerror(-r), r == -ELOOP ? " (a symbolic link is in the way)" : "");
		goto fail;
	}
	r = take_lock(t);
	if (r < 0) {
		if (r == -EWOULDBLOCK)
			diags_add(e, "k3s-harden", 0, 0, "another k3s-harden holds the lock %s/lock; "
				  "gave up after %u ms", TXN_STATE_DIR, o->lock_timeout_ms);
		else
			diags_add(e, "k3s-harden", 0, 0, "cannot lock %s/lock: %s", TXN_STATE_DIR, strerror(-r));
		goto fail;
	}
	r = recover(t, recovered, e);
	if (r < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	txn_close(t);
	return r;
}

int txn_prepare(struct txn *t, const struct change *v, size_t n, struct diags *e)
{
	char tmpdir[32], blob[32], jtmp[64];
	struct buf man = BUF_INIT, jb = BUF_INIT;
	int gfd = -1, r;
	size_t i, k;

	t->v = v;
	t->n = n;
	t->noted[0] = '\0';
	buf_reset(&t->sums);
	gen_entries_free(t->entries, t->n_entries);
	t->entries = NULL;
	t->n_entries = 0;
	if ((r = next_id(t)) < 0)
		return r;
	snprintf(tmpdir, sizeof(tmpdir), "%s.tmp", t->id);
	if (mkdirat(t->backups_fd, tmpdir, 0700) < 0)
		return -errno;
	gfd = openat(t->backups_fd, tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (gfd < 0) {
		r = -errno;
		goto fail;
	}
	for (i = 0, k = 0, r = 0; i < n && r == 0; i++) {
		const struct change *x = &v[i];
		bool remove = x->action == ACT_REMOVE;
		struct gen_entry g;
		struct stat st;

		if (x->action == ACT_UNCHANGED)
			continue;
		memset(&g, 0, sizeof(g));
		g.path = x->path;
		g.flags = x->flags;
		r = dirfds_stat(t->dirs, x->path, &st);
		if (r == 0 && S_ISLNK(st.st_mode))
			r = -ELOOP;
		if (r < 0 && r != -ENOENT) {
			diags_add(e, "k3s-harden", 0, 0, "cannot back up '%s': %s", x->path,
				  r == -ELOOP ? "a symbolic link is in the way" : strerror(-r));
			break;
		}
		if (x->kind == ART_MODE) {
			if (r == -ENOENT) {
				r = 0;          /* gone since the plan: nothing to chmod */
				continue;
			}
			if (!S_ISREG(st.st_mode)) {
				diags_add(e, "k3s-harden", 0, 0, "'%s' is not a regular file", x->path);
				r = -EINVAL;
				break;
			}
			g.kind = GEN_MODE;
			g.existed = true;
			g.mode = st.st_mode & 07777;
			g.uid = st.st_uid;
			g.gid = st.st_gid;
			entries_add(t, &g, &r);
			continue;
		}
		if (x->kind == ART_DIR) {
			if (r == -ENOENT) {
				r = remove ? 0 : note_missing_dirs(t, x->path, true, x->mode);
			} else if (!S_ISDIR(st.st_mode)) {
				r = -ENOTDIR;
			} else {
				/* R: a directory we remove (restore makes it again), D: a mode change */
				g.kind = remove ? GEN_DIR_REMOVED : GEN_DIR_META;
				g.existed = true;
				g.mode = st.st_mode & 07777;
				g.uid = st.st_uid;
				g.gid = st.st_gid;
				entries_add(t, &g, &r);
			}
			continue;
		}
		g.kind = GEN_FILE;
		if (r == -ENOENT) {
			r = remove ? 0 : note_missing_dirs(t, x->path, false, 0);
			if (r == 0)
				entries_add(t, &g, &r);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			diags_add(e, "k3s-harden", 0, 0, "'%s' is not a regular file", x->path);
			r = -EINVAL;
			break;
		}
		{
			char *data = NULL;
			size_t len = 0;
			struct stat st2;

			/* the plan read it under the lock (or checked it was unchanged since):
			 * back up those bytes instead of reading the file again, when what is
			 * there still looks like it */
			if (x->old_data && (size_t)st.st_size == x->old_len &&
			    (st.st_mode & 07777) == x->old_mode && st.st_uid == x->old_uid &&
			    st.st_gid == x->old_gid) {
				st2 = st;
				r = 0;
			} else {
				r = dirfds_read_file(t->dirs, x->path, BACKUP_MAX, &data, &len, &st2);
			}
			snprintf(blob, sizeof(blob), "f%zu", k++);
			if (r == 0) {
				char sum[17];

				if (!data)
					len = x->old_len;
				r = create_file_at(gfd, blob, data ? data : x->old_data, len, 0600, 0, 0);
				sum_hex(data ? data : x->old_data, len, sum);
				if (r == 0)
					r = buf_printf(&t->sums, "blob %s %s\n", blob, sum);
			}
			free(data);
			g.existed = true;
			g.mode = st2.st_mode & 07777;
			g.uid = st2.st_uid;
			g.gid = st2.st_gid;
			g.blob = blob;
			if (r == 0)
				entries_add(t, &g, &r);
			t->stats.files++;
		}
	}
	if (r < 0) {
		if (r == -ENOTDIR || r == -ELOOP)
			diags_add(e, "k3s-harden", 0, 0, "a file or symbolic link is in the way of a directory "
				  "k3s-harden must create");
		goto fail;
	}
	r = manifest_text(t, &man);
	if (r == 0)
		r = create_file_at(gfd, "manifest", man.data, man.len, 0600, 0, 0);
	if (r == 0) {
		char sum[17];

		sum_hex(man.data, man.len, sum);
		r = buf_printf(&t->sums, "manifest %s\n", sum);
	}
	if (r == 0)
		r = create_file_at(gfd, "state", "prepared", 8, 0600, 0, 0);
	/*
	 * The backups, the generation's name and the journal (format 2, with
	 * the sums of the manifest and of every backup) in one sync, before
	 * any target is touched. A crash before that sync leaves the host as
	 * it was, and recovery drops whatever it finds: a generation without
	 * a journal, a journal without its generation, a journal cut short
	 * (no end line) or whose generation does not match its sums, temps.
	 */
	snprintf(jtmp, sizeof(jtmp), ".journal.k3s-harden-%ld-p", (long)getpid());
	unlinkat(t->state_fd, jtmp, 0);
	if (r == 0)
		r = journal_text(t, &jb);
	if (r == 0)
		r = create_file_at(t->state_fd, jtmp, jb.data, jb.len, 0600, 0, 0);
	if (r == 0 && renameat(t->backups_fd, tmpdir, t->backups_fd, t->id) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(t->state_fd, jtmp, 0);
		goto fail;
	}
	if (renameat(t->state_fd, jtmp, t->state_fd, "journal") < 0) {
		r = -errno;
		unlinkat(t->state_fd, jtmp, 0);
	} else if ((r = sync_with_state(t, gfd)) < 0) {
		unlinkat(t->state_fd, "journal", 0);
	}
	if (r < 0) {
		remove_gen_dir(t->backups_fd, t->id);
		goto out;
	}
	t->journal = true;
	goto out;
fail:
	if (r != -EINVAL && e->n == 0)
		diags_add(e, "k3s-harden", 0, 0, "cannot write the backups: %s", strerror(-r));
	remove_gen_dir(t->backups_fd, tmpdir);
out:
	if (gfd >= 0)
		close(gfd);
	buf_free(&man);
	buf_free(&jb);
	return r;
}

/* syncfs once per file system the targets live on, and the state directory's when with_state */
static int sync_targets(struct txn *t, bool with_state)
{
	dev_t devs[16];
	size_t nd = 0, i, j;
	int r = 0, last = -1;
	struct stat sst;

	for (i = 0; i < t->n && r == 0; i++) {
		const char *base = NULL;
		struct stat st;
		int dfd;

		if (t->v[i].action == ACT_UNCHANGED)
			continue;
		if (open_parent(t, t->v[i].path, &dfd, &base) < 0 || dfd == last)
			continue;
		last = dfd;
		if (fstat(dfd, &st) == 0) {
			for (j = 0; j < nd; j++)
				if (devs[j] == st.st_dev)
					break;
			if (j == nd && nd < 16) {
				devs[nd++] = st.st_dev;
				r = do_syncfs(t, dfd);
			}
		}
	}
	if (r == 0 && with_state && fstat(t->state_fd, &sst) == 0) {
		for (j = 0; j < nd; j++)
			if (devs[j] == sst.st_dev)
				break;
		if (j == nd)
			r = do_syncfs(t, t->state_fd);
	}
	return r;
}

int txn_write(struct txn *t, struct diags *e)
{
	size_t i;
	int r = 0;

	/* directories first: the audit log directory exists before anything names it */
	for (i = 0; i < t->n_entries && r == 0; i++) {
		const struct gen_entry *g = &t->entries[i];
		const char *base = NULL;
		int dfd, fd;

		if (g->kind != GEN_DIR_MADE)
			continue;
		r = open_parent(t, g->path, &dfd, &base);
		if (r < 0)
			break;
		if (mkdirat(dfd, base, 0700) < 0 && errno != EEXIST)
			r = -errno;
		dirfds_forget(t->dirs, g->path);        /* no longer missing */
		fd = r == 0 ? openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (r == 0 && fd < 0)
			r = -errno;
		if (r == 0 && (fchmod(fd, g->mode) < 0 || fchown(fd, 0, 0) < 0))
			r = -errno;
		if (fd >= 0)
			close(fd);
		if (r < 0)
			diags_add(e, "k3s-harden", 0, 0, "cannot create directory '%s': %s", g->path, strerror(-r));
	}
	for (i = 0; i < t->n && r == 0; i++) {
		const struct change *x = &t->v[i];
		const char *base = NULL;
		char tmp[300];
		int dfd;

		if (x->action == ACT_UNCHANGED || x->action == ACT_REMOVE || x->kind == ART_MODE)
			continue;
		if (x->kind == ART_DIR) {
			r = dirfds_get(t->dirs, x->path, false, 0, &dfd);
			if (r == 0 && (fchmod(dfd, x->mode) < 0 || fchown(dfd, x->uid, x->gid) < 0))
				r = -errno;
		} else {
			r = open_parent(t, x->path, &dfd, &base);
			if (r == 0) {
				tmp_name(tmp, sizeof(tmp), base);
				r = create_file_at(dfd, tmp, x->new_data, x->new_len, x->mode, x->uid, x->gid);
				/* one a killed run left */
				if (r == -EEXIST && unlinkat(dfd, tmp, 0) == 0)
					r = create_file_at(dfd, tmp, x->new_data, x->new_len, x->mode, x->uid,
							   x->gid);
			}
		}
		if (r < 0)
			diags_add(e, "k3s-harden", 0, 0, "cannot write '%s': %s", x->path, strerror(-r));
	}
	if (r == 0)
		r = sync_targets(t, false);
	for (i = 0; i < t->n && r == 0; i++) {
		const struct change *x = &t->v[i];
		bool remove = x->action == ACT_REMOVE;
		const char *base = NULL;
		char tmp[300];
		int dfd;

		if (x->action == ACT_UNCHANGED || (x->kind == ART_DIR && !remove))
			continue;
		if (x->kind == ART_MODE) {
			/* after every temp file is written: a failure before leaves the modes as they were */
			r = set_mode_at(t, x->path, x->mode, x->uid, x->gid);
			if (r == -ENOENT)
				r = 0;  /* gone since the backup: nothing to chmod */
			if (r < 0)
				diags_add(e, "k3s-harden", 0, 0, "cannot change the mode of '%s': %s", x->path,
					  strerror(-r));
			continue;
		}
		r = open_parent(t, x->path, &dfd, &base);
		if (r == -ENOENT && remove) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		tmp_name(tmp, sizeof(tmp), base);
		if (x->kind == ART_DIR) {
			;       /* below, once the files in it are gone */
		} else if (remove) {
			if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
				r = -errno;
		} else if (renameat(dfd, tmp, dfd, base) < 0) {
			r = -errno;
		}
		if (r < 0)
			diags_add(e, "k3s-harden", 0, 0, "cannot replace '%s': %s", x->path, strerror(-r));
	}
	if (r == 0)
		r = remove_dirs(t, e);
	/* the renames are made durable by the commit's sync, before its record */
	return r;
}

static int cmp_len_desc(const void *a, const void *b)
{
	size_t x = strlen((*(const struct change *const *)a)->path);
	size_t y = strlen((*(const struct change *const *)b)->path);

	return (x < y) - (x > y);
}

/* Directories to remove, deepest first; one that is not empty stays. */
static int remove_dirs(struct txn *t, struct diags *e)
{
	const struct change **v = calloc(t->n + 1, sizeof(*v));
	size_t i, k = 0;
	int r = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < t->n; i++)
		if (t->v[i].kind == ART_DIR && t->v[i].action == ACT_REMOVE)
			v[k++] = &t->v[i];
	qsort(v, k, sizeof(*v), cmp_len_desc);
	for (i = 0; i < k && r == 0; i++) {
		const char *base = NULL;
		int dfd;

		r = open_parent(t, v[i]->path, &dfd, &base);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		if (unlinkat(dfd, base, AT_REMOVEDIR) == 0)
			dirfds_forget(t->dirs, v[i]->path);
		else if (errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
			r = -errno;
			diags_add(e, "k3s-harden", 0, 0, "cannot remove directory '%s': %s", v[i]->path,
				  strerror(-r));
		}
	}
	free(v);
	return r;
}

/* The first generation holds the host as it was before the tool first ran. */
static int first_generation(char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strstr(names[i], ".tmp"))
			return (int)i;
	return -1;
}

static void prune(struct txn *t)
{
	char **names = NULL;
	size_t n = 0, i, kept = 0;
	int first;

	if (list_dir_fd(t->backups_fd, &names, &n) < 0)
		return;
	first = first_generation(names, n);
	/* newest first; the newest generation is what a rollback needs, and
	 * the first is the only one with the host as it was before us */
	for (i = n; i-- > 0;) {
		if (strstr(names[i], ".tmp") || strcmp(names[i], t->id) == 0) {
			kept += strcmp(names[i], t->id) == 0;
			continue;
		}
		if ((int)i == first)
			continue;
		if (++kept > t->o.retention)
			remove_gen_dir(t->backups_fd, names[i]);
	}
	names_free(names, n);
}

void txn_commit_file(struct txn *t, const char *name, const char *data, size_t len, int *result)
{
	t->cf_name = name;
	t->cf_data = data;
	t->cf_len = len;
	t->cf_result = result;
	*result = 0;
}

/*
 * The commit record, and the txn_commit_file file with it: both temps
 * written, one syncfs of the targets' and the state's file systems (the
 * renames of txn_write, the temps), the record renamed, then the file, one
 * fsync of the generation's directory; then the journal is removed, unsynced.
 * The record is durable only after every target is, so recovery that finds
 * a journal beside a committed record finishes the commit (a killed run's
 * file temp is renamed) instead of undoing it; a journal that comes back
 * after a power cut is dropped the same way.
 */
static int commit_record(struct txn *t, const char *state)
{
	char ts[64], tf[300];
	int gfd, r, rf = 0;

	gfd = openat(t->backups_fd, t->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (gfd < 0)
		return -errno;
	/* the names remove_stale_temps and finish_commit know */
	snprintf(ts, sizeof(ts), ".state.k3s-harden-%ld-c", (long)getpid());
	unlinkat(gfd, ts, 0);
	if (t->cf_name) {
		snprintf(tf, sizeof(tf), ".%s.k3s-harden-%ld-c", t->cf_name, (long)getpid());
		unlinkat(gfd, tf, 0);
		rf = create_file_at(gfd, tf, t->cf_data, t->cf_len, 0600, 0, 0);
	}
	r = create_file_at(gfd, ts, state, strlen(state), 0600, 0, 0);
	if (r == 0)
		r = sync_targets(t, true);
	if (r == 0 && renameat(gfd, ts, gfd, "state") < 0)
		r = -errno;
	t->record = r == 0;
	if (r == 0 && t->cf_name && rf == 0 && renameat(gfd, tf, gfd, t->cf_name) < 0)
		rf = -errno;
	if (r == 0)
		r = do_fsync(t, gfd);
	if (r < 0)
		unlinkat(gfd, ts, 0);
	if (t->cf_name && (r < 0 || rf < 0))
		unlinkat(gfd, tf, 0);
	if (t->cf_result)
		*t->cf_result = r < 0 ? r : rf;
	close(gfd);
	return r;
}

int txn_commit(struct txn *t, bool restart_pending, struct diags *e)
{
	const char *state = restart_pending ? "committed restart-pending" : "committed";
	int r = commit_record(t, state);

	/* unsynced: a journal beside a committed record is finished, not undone */
	if (r == 0 && unlinkat(t->state_fd, "journal", 0) < 0)
		r = -errno;
	if (r < 0) {
		diags_add(e, "k3s-harden", 0, 0, "cannot commit generation %s: %s", t->id, strerror(-r));
		return r;
	}
	t->journal = false;
	if (t->o.retention)
		prune(t);
	return 0;
}

int txn_restore(struct txn *t, struct diags *e)
{
	int r;

	if (!t->journal)
		return 0;
	/* a commit that failed after its record: the record goes first, or a
	 * crash during the restore would be finished as a commit */
	if (t->record && (r = set_state(t, t->id, "prepared")) < 0) {
		diags_add(e, "k3s-harden", 0, 0, "cannot withdraw the commit record of generation %s: %s",
			  t->id, strerror(-r));
		return r;
	}
	t->record = false;
	r = restore_entries(t, t->id, t->entries, t->n_entries, e);
	restore_kernel(t, t->k_keys, t->k_old, t->n_kernel, e);
	if (r < 0)
		return r;
	set_state(t, t->id, "rolled-back");
	if (unlinkat(t->state_fd, "journal", 0) < 0)
		return -errno;
	t->journal = false;
	return do_fsync(t, t->state_fd);
}

void txn_set_profile(struct txn *t, const char *profile)
{
	size_t i;

	/* one word in the manifest */
	snprintf(t->profile, sizeof(t->profile), "%s", profile && *profile ? profile : "-");
	for (i = 0; t->profile[i]; i++)
		if ((unsigned char)t->profile[i] <= ' ')
			t->profile[i] = '_';
}

void txn_set_unit(struct txn *t, const char *unit)
{
	size_t i;

	snprintf(t->unit, sizeof(t->unit), "%s", unit && *unit ? unit : "-");
	for (i = 0; t->unit[i]; i++)
		if ((unsigned char)t->unit[i] <= ' ')
			t->unit[i] = '_';
}

void txn_set_role(struct txn *t, const char *role)
{
	snprintf(t->role, sizeof(t->role), "%s",
		 role && (strcmp(role, "server") == 0 || strcmp(role, "agent") == 0) ? role : "");
}

/* one word in the manifest, or nothing */
static void set_word(char *to, size_t size, const char *s)
{
	size_t i;

	snprintf(to, size, "%s", s ? s : "");
	for (i = 0; to[i]; i++)
		if ((unsigned char)to[i] <= ' ')
			to[i] = '_';
}

void txn_set_k3s(struct txn *t, const char *k3s_version, const char *benchmark)
{
	set_word(t->k3s_version, sizeof(t->k3s_version), k3s_version);
	set_word(t->benchmark, sizeof(t->benchmark), benchmark);
}

const char *txn_generation(const struct txn *t)
{
	return t->id;
}

const struct txn_stats *txn_stats(const struct txn *t)
{
	return &t->stats;
}

void txn_close(struct txn *t)
{
	if (!t)
		return;
	gen_entries_free(t->entries, t->n_entries);
	kernel_free(t->k_keys, t->k_old, t->n_kernel);
	buf_free(&t->sums);
	dirfds_free(t->dirs);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	if (t->backups_fd >= 0)
		close(t->backups_fd);
	if (t->state_fd >= 0)
		close(t->state_fd);
	free(t);
}

/* ---- history ---- */

int txn_read_generation(const char *root, const char *id, struct generation *g,
			struct gen_entry **entries, size_t *n)
{
	char path[256], *text = NULL, *state = NULL;
	size_t len;
	struct stat st;
	int r;

	if (strchr(id, '/') || id[0] == '.')
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/backups/%s/manifest", TXN_STATE_DIR, id);
	r = root_read_file(root, path, BACKUP_MAX, &text, &len, &st);
	if (r < 0)
		return r;
	r = parse_manifest(text, g, entries, n);
	free(text);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/backups/%s/state", TXN_STATE_DIR, id);
	if (root_read_file(root, path, 256, &state, &len, &st) == 0) {
		g->restart_pending = strstr(state, "restart-pending") != NULL;
		state[strcspn(state, " \n")] = '\0';
		snprintf(g->state, sizeof(g->state), "%s", state);
		free(state);
	}
	return 0;
}

int txn_read_blob(const char *root, const char *id, const char *blob, char **data, size_t *len)
{
	char path[256];
	struct stat st;

	if (strchr(id, '/') || strchr(blob, '/'))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/backups/%s/%s", TXN_STATE_DIR, id, blob);
	return root_read_file(root, path, BACKUP_MAX, data, len, &st);
}

int txn_history(const char *root, struct generation **v, size_t *n)
{
	char **names = NULL;
	size_t k = 0, i, m = 0;
	struct generation *out;
	int r;

	r = root_list_dir(root, TXN_STATE_DIR "/backups", &names, &k);
	if (r < 0)
		return r;
	out = calloc(k + 1, sizeof(*out));
	if (!out) {
		names_free(names, k);
		return -ENOMEM;
	}
	for (i = k; i-- > 0;) {
		struct gen_entry *e = NULL;
		size_t ne = 0;

		if (strstr(names[i], ".tmp"))
			continue;
		if (txn_read_generation(root, names[i], &out[m], &e, &ne) == 0)
			m++;
		gen_entries_free(e, ne);
	}
	names_free(names, k);
	*v = out;
	*n = m;
	return 0;
}

int txn_set_restart_pending(const char *root, const char *id, bool pending)
{
	char path[256];
	int dfd, r;

	snprintf(path, sizeof(path), "%s/backups/%s", TXN_STATE_DIR, id);
	r = root_open_dir(root, path, false, 0, &dfd);
	if (r < 0)
		return r;
	r = write_atomic_at(dfd, "state", pending ? "committed restart-pending" : "committed",
			    pending ? 25 : 9, 0600, 0, 0, true);
	close(dfd);
	return r;
}

int txn_generation_pruned(const char *root, const char *id, unsigned *retention)
{
	struct generation *v = NULL;
	unsigned long want, newest = 0, with_retention = 0;
	bool exists = false;
	size_t n = 0, i;
	char *end;
	int r;

	want = strtoul(id, &end, 10);
	if (!*id || *end || want == 0)
		return 0;
	r = txn_history(root, &v, &n);
	if (r < 0)
		return r;
	*retention = 0;
	for (i = 0; i < n; i++) {
		unsigned long g = strtoul(v[i].id, NULL, 10);

		exists |= g == want;
		if (g > newest)
			newest = g;
		/* the newest apply's manifest says what its prune kept (a rollback
		 * prunes nothing and records 0) */
		if (v[i].retention && g > with_retention) {
			with_retention = g;
			*retention = v[i].retention;
		}
	}
	free(v);
	return !exists && newest > want;
}
