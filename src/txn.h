/*
 * The transaction that changes the host: lock, journal, backups, atomic
 * replacement, commit, restore, and crash recovery. State lives under
 * ROOT/var/lib/k3s-harden (0700): `lock`, `journal`, `backups/<id>/`.
 *
 * Order of events, four syncs whatever the number of files (DESIGN.md,
 * durability):
 *  1. backups of every file that will change, and the manifest, are written
 *     into backups/<id>.tmp, the directory renamed to <id>, and the journal
 *     naming <id> (format 2: a 64-bit checksum of the manifest and of every backup,
 *     and an end line with the sum of the journal) written and renamed into
 *     place; one syncfs. From here a crash is undone by restoring <id>; a
 *     crash before that sync is told by a journal cut short or a generation
 *     that does not match its sums, and changed nothing;
 *  2. missing directories are made, every new file is written to a temp
 *     file beside its target; one syncfs (every target is old or new on
 *     disk at any moment);
 *  3. every temp file is renamed over its target (removals unlinked), not
 *     synced yet;
 *  4. the commit record (and the check evidence) written to temps, one
 *     syncfs (the renames of 3 and the temps), renamed, one fsync of the
 *     generation; the journal is removed, unsynced: a journal beside a
 *     committed record is finished by recovery, not undone.
 */
#ifndef K3H_TXN_H
#define K3H_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "change.h"
#include "diag.h"

#define TXN_STATE_DIR "/var/lib/k3s-harden"

/* A generation as history shows it. */
struct generation {
	char id[16];
	long long time;
	char profile[64];
	char kind[16];          /* apply, rollback */
	char unit[128];         /* the unit restarted for it, or "-" */
	char role[16];          /* server or agent, what its files were for; "" in
				 * generations from before the role was recorded */
	char k3s_version[64];   /* the K3s version its files were made for, and */
	char benchmark[64];     /* the benchmark (k3s-cis-1.24); "" when not recorded */
	char state[32];         /* prepared, committed, rolled-back, interrupted */
	bool restart_pending;
	size_t files;
	unsigned retention;     /* the retention it was committed with; 0: not recorded */
};

/*
 * The kinds of a generation's manifest entries. On disk each is one letter,
 * mapped by the one name table in txn.c (generations written by earlier
 * versions use the same letters and read the same):
 *   GEN_FILE         F  a file: its backup blob, or "did not exist"
 *                       (restore removes it again)
 *   GEN_DIR_MADE     M  a directory the transaction created (restore
 *                       removes it when it is empty)
 *   GEN_DIR_META     D  an existing directory whose mode or owner changed
 *   GEN_DIR_REMOVED  R  a directory the transaction removed (restore makes
 *                       it again)
 *   GEN_MODE         P  a file whose mode alone changed (ART_MODE): its old
 *                       mode and owner, no blob (restore puts them back;
 *                       a file gone since stays gone)
 * The entries are in the generation, synced, and the journal names it
 * before anything is chmod-ed: a crash in between is undone like a write.
 */
enum gen_kind { GEN_FILE, GEN_DIR_MADE, GEN_DIR_META, GEN_DIR_REMOVED, GEN_MODE };

/* "file", "dir-made", "dir-meta", "dir-removed", "mode". */
const char *gen_kind_name(enum gen_kind k);

/* One entry of a generation's manifest: the old state of a path. */
struct gen_entry {
	enum gen_kind kind;
	char *path;
	bool existed;
	mode_t mode;            /* old mode */
	uid_t uid;
	gid_t gid;
	char *blob;             /* backup file name inside the generation, or NULL */
	unsigned flags;         /* CHANGE_* of the change that made it */
};

struct txn;

struct txn_opts {
	const char *root;
	const char *profile;
	const char *kind;       /* "apply" or "rollback" */
	unsigned lock_timeout_ms;
	unsigned retention;
};

struct txn_stats {
	unsigned syncs;         /* fsync + syncfs calls */
	unsigned files;
};

/*
 * Take the lock (waiting at most lock_timeout_ms: -EWOULDBLOCK), then undo
 * an interrupted transaction if a journal is left (*recovered says so).
 */
int txn_open(const struct txn_opts *o, struct txn **out, bool *recovered, struct diags *e);
/* Phase 1: backups and journal, for every change not ACT_UNCHANGED. */
int txn_prepare(struct txn *t, const struct change *v, size_t n, struct diags *e);
/* Phases 2 and 3: make directories and replace the targets. */
int txn_write(struct txn *t, struct diags *e);
/*
 * Before kernel values are set live: record their old values (old[i] NULL
 * when the key had none) in the journal, durably. txn_restore and crash
 * recovery put them back under the transaction's root together with the
 * files.
 */
int txn_record_kernel(struct txn *t, char *const *keys, char *const *old, size_t n,
		      struct diags *e);
/* Phase 4. */
int txn_commit(struct txn *t, bool restart_pending, struct diags *e);
/*
 * A file (a plain name) for txn_commit to write into the generation's
 * directory beside the commit record, made durable by the same syncs (the
 * check evidence). data must stay until txn_commit, which sets *result: 0,
 * or -errno when this file alone could not be written (the commit goes on
 * without it).
 */
void txn_commit_file(struct txn *t, const char *name, const char *data, size_t len, int *result);
/*
 * Put back every file of the prepared generation; the journal is removed
 * when everything was restored. Files that could not be restored are
 * added to e with what to do by hand.
 */
int txn_restore(struct txn *t, struct diags *e);
const char *txn_generation(const struct txn *t);
/* The profile and the K3s unit recorded in the next generation's manifest. */
void txn_set_profile(struct txn *t, const char *profile);
void txn_set_unit(struct txn *t, const char *unit);
/* The node role ("server" or "agent") recorded in the next generation's manifest. */
void txn_set_role(struct txn *t, const char *role);
/* The K3s version and benchmark its files are for (NULL or "": not recorded). */
void txn_set_k3s(struct txn *t, const char *k3s_version, const char *benchmark);
const struct txn_stats *txn_stats(const struct txn *t);
void txn_close(struct txn *t);

/* Generations, newest first. */
int txn_history(const char *root, struct generation **v, size_t *n);
/* Read a generation's manifest entries (and blobs on demand). */
int txn_read_generation(const char *root, const char *id, struct generation *g,
			struct gen_entry **entries, size_t *n);
int txn_read_blob(const char *root, const char *id, const char *blob, char **data, size_t *len);
void gen_entries_free(struct gen_entry *v, size_t n);
/*
 * 1 when generation id (a number) is gone although a newer one exists:
 * retention pruned it; *retention: what the newest apply that recorded one
 * was committed with (0 when none says). 0 when it exists or never did.
 */
int txn_generation_pruned(const char *root, const char *id, unsigned *retention);
/* Mark a committed generation's restart as done or pending. */
int txn_set_restart_pending(const char *root, const char *id, bool pending);

#endif
