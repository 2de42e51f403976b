/*
 * The transaction that changes the host: lock, journal, backups, atomic
 * replacement, commit, restore, and crash recovery. State lives under
 * ROOT/var/lib/k3s-harden (0700): `lock`, `journal`, `backups/<id>/`.
 *
 * Order of events, each phase made durable once (DESIGN.md, durability):
 *  1. backups of every file that will change, and the manifest, are written
 *     into backups/<id>.tmp, synced, and the directory renamed to <id>;
 *  2. the journal naming <id> is written: from here a crash is undone by
 *     restoring <id>;
 *  3. missing directories are made, every new file is written to a temp
 *     file beside its target, synced;
 *  4. every temp file is renamed over its target (removals unlinked), synced;
 *  5. the generation is marked committed and the journal removed.
 */
#ifndef K3H_TXN_H
#define K3H_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "diag.h"

#define TXN_STATE_DIR "/var/lib/k3s-harden"

enum target_kind { TGT_FILE, TGT_DIR };

/* What a path should be after the transaction. */
struct target {
	char *path;
	enum target_kind kind;
	bool remove;            /* the file (or an empty directory) should go */
	char *data;             /* files: new content */
	size_t len;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool needs_restart;
	bool sysctl;            /* the kernel parameter file */
	bool manifest;          /* in K3s's auto-deploy directory */
};

/* A generation as history shows it. */
struct generation {
	char id[16];
	long long time;
	char profile[64];
	char kind[16];          /* apply, rollback */
	char unit[128];         /* the unit restarted for it, or "-" */
	char state[32];         /* prepared, committed, rolled-back, interrupted */
	bool restart_pending;
	size_t files;
};

/* One file entry of a generation's manifest. */
struct gen_entry {
	char type;              /* 'F' file, 'M' directory we made, 'D' directory mode change */
	char *path;
	bool existed;
	mode_t mode;            /* old mode */
	uid_t uid;
	gid_t gid;
	char *blob;             /* backup file name inside the generation, or NULL */
	char flags[16];         /* r restart, s sysctl, m manifest */
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
/* Phases 1 and 2: backups and journal. */
int txn_prepare(struct txn *t, const struct target *v, size_t n, struct diags *e);
/* Phases 3 and 4: make directories and replace the targets. */
int txn_write(struct txn *t, struct diags *e);
/* Phase 5. */
int txn_commit(struct txn *t, bool restart_pending, struct diags *e);
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
const struct txn_stats *txn_stats(const struct txn *t);
void txn_close(struct txn *t);

/* Generations, newest first. */
int txn_history(const char *root, struct generation **v, size_t *n);
/* Read a generation's manifest entries (and blobs on demand). */
int txn_read_generation(const char *root, const char *id, struct generation *g,
			struct gen_entry **entries, size_t *n);
int txn_read_blob(const char *root, const char *id, const char *blob, char **data, size_t *len);
void gen_entries_free(struct gen_entry *v, size_t n);
/* Mark a committed generation's restart as done or pending. */
int txn_set_restart_pending(const char *root, const char *id, bool pending);

#endif
