/*
 * One file or directory to change, from the plan through the transaction:
 * its path and kind, what happens to it, the new bytes, mode and owner, a
 * flag set, and the old state as the plan read it from the host.
 */
#ifndef K3H_CHANGE_H
#define K3H_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * ART_MODE: an existing regular file of K3s's whose mode alone
 * changes (opt_in.file_modes): its content is never read, new_data stays
 * NULL, and a missing one is not created.
 */
enum art_kind { ART_FILE, ART_DIR, ART_MODE };

enum change_action { ACT_UNCHANGED, ACT_CREATE, ACT_UPDATE, ACT_REMOVE };

/* What a change means for K3s; a generation's manifest records the same set. */
enum {
	CHANGE_RESTART = 1u << 0,       /* K3s reads it at start */
	CHANGE_SYSCTL = 1u << 1,        /* the kernel parameter file */
	CHANGE_MANIFEST = 1u << 2,      /* in K3s's auto-deploy directory */
};

struct change {
	char *path;                 /* host path (below --root) */
	enum art_kind kind;
	enum change_action action;
	bool content;               /* bytes differ */
	bool meta;                  /* mode or owner differ */
	unsigned flags;             /* CHANGE_* */
	char *old_data;             /* NULL when it does not exist (or for directories) */
	size_t old_len;
	mode_t old_mode;
	uid_t old_uid;
	gid_t old_gid;
	char *new_data;             /* NULL for removals and directories */
	size_t new_len;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

#endif
