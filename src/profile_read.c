/* Reading profiles (files and built-ins) and resolving `extends:` by merging trees. */
#include "profile_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "embedded.h"
#include "fsutil.h"

#define MAX_EXTENDS 16
#define PROFILE_MAX_SIZE (1024 * 1024)

struct ident {
	dev_t dev;
	ino_t ino;
	const char *builtin;
};

struct reader {
	struct profile_ctx *c;
	struct ident stack[MAX_EXTENDS];
	const struct ynode *trees[MAX_EXTENDS];    /* the files being read, outermost first */
	unsigned depth;
};

static bool looks_like_path(const char *ref)
{
	size_t n = strlen(ref);

	return strchr(ref, '/') ||
	       (n > 5 && strcmp(ref + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(ref + n - 4, ".yml") == 0);
}

static char *builtin_list(void)
{
	const struct embedded_file *f;
	struct buf b = BUF_INIT;

	for (f = embedded_profiles; f->name; f++)
		buf_printf(&b, "%s%s", b.len ? ", " : "", f->name);
	return buf_steal(&b);
}

/*
 * dir/ref with "." components and doubled slashes dropped, so a message names
 * the file as a person would ("parents/x.yaml", not "././parents/x.yaml").
 * ".." stays: resolving it by text would be wrong across symbolic links.
 */
static char *join_clean(const char *dir, const char *ref)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	const char *p, *e;

	if (ref[0] == '/' || !dir)
		buf_adds(&in, ref);
	else
		buf_printf(&in, "%s/%s", dir, ref);
	if (!in.data)
		return NULL;
	if (in.data[0] == '/')
		buf_addc(&out, '/');
	for (p = in.data; *p; p = e) {
		size_t n;

		while (*p == '/')
			p++;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (out.len && out.data[out.len - 1] != '/')
			buf_addc(&out, '/');
		buf_add(&out, p, n);
	}
	if (!out.len)
		buf_addc(&out, '.');
	buf_free(&in);
	return buf_steal(&out);
}

/* Copy src, turning `key+:` into `key:` inside maps that have no parent. */
static int merge_into(struct reader *R, struct ynode *dst, const struct ynode *src,
		      const char *path);

static struct ynode *copy_plain(struct reader *R, const struct ynode *src, const char *path)
{
	struct ynode *c;

	if (src->kind != YN_MAP)
		return ynode_copy(src);
	c = ynode_new(YN_MAP, src->file);
	if (!c)
		return NULL;
	c->start = src->start;
	c->end = src->end;
	if (merge_into(R, c, src, path) < 0) {
		ynode_free(c);
		return NULL;
	}
	return c;
}

/* Merge src into dst. Problems are reported and the entry skipped; only
 * running out of memory stops the merge. */
static int merge_into(struct reader *R, struct ynode *dst, const struct ynode *src,
		      const char *path)
{
	size_t i, j;

	for (i = 0; i < src->n; i++) {
		const struct ynode *k = src->keys[i], *v = src->items[i];
		size_t kl = k->len;
		bool append = kl > 1 && k->value[kl - 1] == '+';
		struct ynode *key, *val;
		char name[512], full[1024];
		long at;

		if (kl + 2 > sizeof(name)) {       /* room for the '+' form too */
			pctx_err(R->c, k, NULL, "key too long");
			continue;
		}
		memcpy(name, k->value, kl + 1);
		if (append) {
			name[kl - 1] = '\0';
			if (pctx_note_plus(R->c, k) < 0)
				return -ENOMEM;
		}
		snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", name);
		/* `key+:` and `key:` in one mapping: the second would silently win.
		 * Looked up by name, both forms, through the map's index: O(1). */
		{
			long plain = ynode_find(src, name), first = -1;

			name[strlen(name) + 1] = '\0';
			name[strlen(name)] = '+';
			at = ynode_find(src, name);
			name[strlen(name) - 1] = '\0';
			if (plain >= 0 && (size_t)plain < i)
				first = plain;
			if (at >= 0 && (size_t)at < i && (first < 0 || at < first))
				first = at;
			if (first >= 0) {
				pctx_err(R->c, k, NULL, "%s: duplicate key (also set on line %u)", full,
					 src->keys[first]->start.line);
				continue;
			}
		}
		at = ynode_find(dst, name);
		if (append && at >= 0) {
			struct ynode *d = dst->items[at];

			if (d->kind != YN_SEQ || v->kind != YN_SEQ) {
				pctx_err(R->c, k, NULL, "%s: '+' appends to a list, and this is not a list", full);
				continue;
			}
			for (j = 0; j < v->n; j++) {
				struct ynode *c = copy_plain(R, v->items[j], full);

				if (!c || ynode_append(d, NULL, c) < 0) {
					ynode_free(c);
					return -ENOMEM;
				}
			}
			continue;
		}
		if (append && v->kind != YN_SEQ) {
			pctx_err(R->c, k, NULL, "%s: '+' appends to a list, and this is not a list", full);
			continue;
		}
		if (at >= 0 && dst->items[at]->kind == YN_MAP && v->kind == YN_MAP) {
			int r = merge_into(R, dst->items[at], v, full);

			if (r < 0)
				return r;
			continue;
		}
		key = ynode_copy(k);
		val = copy_plain(R, v, full);
		if (!key || !val) {
			ynode_free(key);
			ynode_free(val);
			return -ENOMEM;
		}
		key->value[strlen(name)] = '\0';
		key->len = strlen(name);
		if (at >= 0) {
			ynode_free(dst->keys[at]);
			ynode_free(dst->items[at]);
			dst->keys[at] = key;
			dst->items[at] = val;
		} else if (ynode_append(dst, key, val) < 0) {
			ynode_free(key);
			ynode_free(val);
			return -ENOMEM;
		}
	}
	return 0;
}

static int read_profile_file(struct reader *R, const char *path, const struct ynode *from,
			     char **data, size_t *len, struct stat *st)
{
	const char *pre = from ? "extends: " : "";
	char name[PATH_MAX + 8] = "";
	int fd, r;

	/* at the extends: line, name the file; for the file itself the label does */
	if (from)
		snprintf(name, sizeof(name), " '%s'", path);
	/* the type is looked at before the open: a FIFO would block, a device
	 * could act on being opened */
	fd = open_regular_at(AT_FDCWD, path, O_RDONLY, st);
	if (fd < 0) {
		r = fd;
		if (r == -ELOOP)
			pctx_err(R->c, from, path, "%srefusing to read profile%s through a symbolic link",
				 pre, name);
		else if (r == -EISDIR)
			pctx_err(R->c, from, path, "%sprofile%s is not a regular file but a directory",
				 pre, name);
		else if (r == -EINVAL)
			pctx_err(R->c, from, path, "%sprofile%s is not a regular file but %s; refusing to "
				 "open it", pre, name, file_type_name(path));
		else
			pctx_err(R->c, from, path, "%scannot open profile%s: %s", pre, name, strerror(-r));
		return r;
	}
	r = read_fd_all(fd, PROFILE_MAX_SIZE, data, len, st);
	close(fd);
	if (r == -EFBIG)
		pctx_err(R->c, from, path, "%sprofile%s is larger than 1 MiB", pre, name);
	else if (r == -EISDIR || r == -EINVAL)
		pctx_err(R->c, from, path, "%sprofile%s is not a regular file", pre, name);
	else if (r < 0)
		pctx_err(R->c, from, path, "%scannot read profile%s: %s", pre, name, strerror(-r));
	return r;
}

/*
 * A name that is neither built-in nor a file. When NAME.yaml (or .yml) is
 * there, say how to use it: a bare name never reads a file by another name,
 * so `-p site` cannot pick up whatever site.yaml the current directory holds.
 */
static void unknown_profile(struct reader *R, const struct ynode *from, const char *ref,
			    const char *rel_dir)
{
	static const char *const exts[] = { ".yaml", ".yml" };
	char *names = builtin_list(), *file = NULL, *shown;
	size_t i;

	for (i = 0; i < 2 && !file; i++) {
		char *cand;

		if (asprintf(&shown, "%s%s", ref, exts[i]) < 0)
			break;
		cand = join_clean(rel_dir, shown);
		if (cand && access(cand, F_OK) == 0)
			file = shown;
		else
			free(shown);
		free(cand);
	}
	if (file)
		pctx_err(R->c, from, ref, "%sunknown profile '%s' (built-in: %s); to use the "
			 "file, write './%s'", from ? "extends: " : "", ref, names ? names : "", file);
	else
		pctx_err(R->c, from, ref, "%sunknown profile '%s' (built-in: %s)",
			 from ? "extends: " : "", ref, names ? names : "");
	free(file);
	free(names);
}

static int push_ident(struct reader *R, const struct ynode *from, const char *label,
		      struct ident id)
{
	unsigned i;

	for (i = 0; i < R->depth; i++) {
		bool same = id.builtin ? (R->stack[i].builtin && strcmp(R->stack[i].builtin, id.builtin) == 0)
				       : (!R->stack[i].builtin && R->stack[i].dev == id.dev &&
					  R->stack[i].ino == id.ino);

		if (same) {
			pctx_err(R->c, from, label, "extends: cycle: '%s' extends itself", label);
			return -ELOOP;
		}
	}
	if (R->depth == MAX_EXTENDS) {
		pctx_err(R->c, from, label, "extends: more than %d levels", MAX_EXTENDS);
		return -ELOOP;
	}
	R->stack[R->depth++] = id;
	return 0;
}

/* A profile without a name is called after its file, up to the first '.'. */
static int name_after_file(struct ynode *merged, const struct ynode *tree, const char *label)
{
	const char *b = strrchr(label, '/') ? strrchr(label, '/') + 1 : label;
	size_t bl = strcspn(b, ".");
	struct ynode *k = ynode_scalar(tree->file, "name"), *v;
	long at = ynode_find(merged, "name");
	int r = 0;

	v = ynode_new(YN_SCALAR, tree->file);
	if (!k || !v || !(v->value = strndup(b, bl))) {
		ynode_free(k);
		ynode_free(v);
		return -ENOMEM;
	}
	v->len = bl;
	v->plain = false;
	if (at >= 0) {
		ynode_free(k);
		ynode_free(merged->items[at]);
		merged->items[at] = v;
	} else if ((r = ynode_append(merged, k, v)) < 0) {
		ynode_free(k);
		ynode_free(v);
	}
	return r;
}

/*
 * `extends: cis`: the benchmark profile cis would pick for the K3s version
 * (the caller's, else the k3s_version: of the outermost file being read
 * that has one), into *bf; cis itself when no version is known.
 */
static int pick_cis(struct reader *R, const struct embedded_file **bf)
{
	const struct profile_load_opts *o = R->c->opts;
	const struct embedded_file *picked;
	const char *v = o ? o->k3s_version : NULL, *name;
	unsigned i;

	for (i = 0; !v && i < R->depth; i++) {
		const struct ynode *k = R->trees[i] ? ynode_get(R->trees[i], "k3s_version") : NULL;

		if (k && k->kind == YN_SCALAR && k->len)
			v = k->value;
	}
	if (!R->c->cis_base)
		R->c->cis_base = (*bf)->name;
	if (!o || !o->pick || (!v && !o->newest) || o->pick(v, &name) < 0 ||
	    !(picked = embedded_find(embedded_profiles, name)))
		return 0;
	free(R->c->cis_version);
	R->c->cis_version = NULL;
	if (v && !(R->c->cis_version = strdup(v)))
		return -ENOMEM;
	R->c->cis_base = picked->name;
	R->c->cis_picked = true;
	*bf = picked;
	return 0;
}

static int load_tree(struct reader *R, const char *ref, const char *rel_dir,
		     const struct ynode *from, struct ynode **out)
{
	const struct embedded_file *bf = NULL;
	struct ynode *tree = NULL, *merged = NULL, *ext;
	struct ident id = { 0, 0, NULL };
	char *data = NULL, *path = NULL, *label = NULL, *dir = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	if (!looks_like_path(ref))
		bf = embedded_find(embedded_profiles, ref);
	if (bf && from && strcmp(bf->name, "cis") == 0 && (r = pick_cis(R, &bf)) < 0)
		return r;
	if (bf) {
		id.builtin = bf->name;
		if (asprintf(&label, "builtin:%s", bf->name) < 0)
			return -ENOMEM;
	} else {
		/* the file the user named, as given; a parent relative to its child */
		path = from ? join_clean(rel_dir, ref) : strdup(ref);
		if (!path)
			return -ENOMEM;
		if (!looks_like_path(ref) && access(path, F_OK) != 0) {
			unknown_profile(R, from, ref, rel_dir);
			free(path);
			return -ENOENT;
		}
		r = read_profile_file(R, path, from, &data, &len, &st);
		if (r < 0)
			goto out;
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		label = strdup(path);
		dir = strdup(path);
		if (!label || !dir) {
			r = -ENOMEM;
			goto out;
		}
		if (strrchr(dir, '/') == dir)
			dir[1] = '\0';
		else if (strrchr(dir, '/'))
			*strrchr(dir, '/') = '\0';
		else
			strcpy(dir, ".");
	}
	if ((r = push_ident(R, from, label, id)) < 0)
		goto out;
	r = ynode_parse(label, bf ? bf->data : data, bf ? bf->len : len, 0, &tree, R->c->d);
	if (r < 0) {
		R->c->err = r;
		goto pop;
	}
	if (tree->kind != YN_MAP) {
		pctx_err(R->c, tree, NULL, "a profile is a mapping of settings");
		r = -EINVAL;
		goto pop;
	}
	R->trees[R->depth - 1] = tree;
	ext = ynode_get(tree, "extends");
	if (ext && (ext->kind != YN_SCALAR || ext->len == 0)) {
		pctx_err(R->c, ext, NULL, "extends: expected a profile name or file");
		r = -EINVAL;
		goto pop;
	}
	if (ext || !bf || strcmp(bf->name, "base") != 0) {
		r = load_tree(R, ext ? ext->value : "base", bf ? NULL : dir,
			      ext ? ext : tree, &merged);
		if (r < 0)
			goto pop;
	} else {
		merged = ynode_new(YN_MAP, tree->file);
		if (!merged) {
			r = -ENOMEM;
			goto pop;
		}
	}
	if ((r = pctx_note_file(R->c, tree->file)) < 0)
		goto pop;
	r = merge_into(R, merged, tree, "");
	if (r == 0 && !ynode_get(tree, "name"))
		r = name_after_file(merged, tree, label);
pop:
	R->trees[--R->depth] = NULL;
out:
	if (r == 0) {
		*out = merged;
		merged = NULL;
	}
	ynode_free(merged);
	ynode_free(tree);
	free(data);
	free(path);
	free(label);
	free(dir);
	return r;
}

int profile_read(struct profile_ctx *c, const char *name_or_path, struct ynode **out)
{
	struct reader R;

	memset(&R, 0, sizeof(R));
	R.c = c;
	return load_tree(&R, name_or_path, NULL, NULL, out);
}
