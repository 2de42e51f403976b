/*
 * The directory descriptors a plan or a transaction keeps (struct dirfds):
 * each directory opened once however many files are reached below it, a
 * symlinked component refused as by root_open_dir, a missing directory
 * remembered until one is made, a removed one forgotten, and files read
 * through it only when they are regular (a FIFO neither opened nor waited on).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsutil.h"

#define TMP_PREFIX "/tmp/k3h-fsutil-"

struct fixture {
	char root[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->root, TMP_PREFIX "XXXXXX");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (strncmp(f->root, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
		nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ROOT/rel, made with its parents; rel names a file when data is given */
static void put(struct fixture *f, const char *rel, const char *data)
{
	char path[512];
	size_t i;
	FILE *fp;

	snprintf(path, sizeof(path), "%s%s", f->root, rel);
	for (i = strlen(f->root) + 1; path[i]; i++)
		if (path[i] == '/') {
			path[i] = '\0';
			mkdir(path, 0755);
			path[i] = '/';
		}
	if (!data) {
		assert_int_equal(mkdir(path, 0755), 0);
		return;
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(data, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_fsutil_each_dir_once(void **state)
{
	struct fixture *f = *state;
	struct dirfds *d = NULL;
	char rel[128], *data;
	size_t i, len;
	struct stat st;

	for (i = 0; i < 50; i++) {
		snprintf(rel, sizeof(rel), "/var/lib/app/manifests/m%zu.yaml", i);
		put(f, rel, "kind: x\n");
	}
	put(f, "/var/lib/app/other.conf", "a=b\n");
	assert_int_equal(dirfds_new(f->root, &d), 0);
	for (i = 0; i < 50; i++) {
		snprintf(rel, sizeof(rel), "/var/lib/app/manifests/m%zu.yaml", i);
		assert_int_equal(dirfds_read_file(d, rel, 4096, &data, &len, &st), 0);
		assert_string_equal(data, "kind: x\n");
		assert_int_equal(len, 8);
		free(data);
	}
	assert_int_equal(dirfds_read_file(d, "/var/lib/app/other.conf", 4096, &data, &len, &st), 0);
	free(data);
	assert_int_equal(dirfds_stat(d, "//var/lib//app", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* var, lib, app, manifests: four opens for 51 files */
	assert_int_equal(dirfds_opened(d), 4);
	dirfds_free(d);
}

static void test_fsutil_symlink_component(void **state)
{
	struct fixture *f = *state;
	struct dirfds *d = NULL;
	char target[128], link[128], *data = NULL;
	struct stat st;
	size_t len;
	int fd;

	put(f, "/real/etc/file.conf", "x\n");
	put(f, "/etc", NULL);
	snprintf(target, sizeof(target), "%s/real/etc", f->root);
	snprintf(link, sizeof(link), "%s/etc/linked", f->root);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/real/etc/link.conf", f->root);
	assert_int_equal(symlink("file.conf", link), 0);
	assert_int_equal(dirfds_new(f->root, &d), 0);
	assert_int_equal(dirfds_get(d, "/etc/linked", false, 0, &fd), -ELOOP);
	assert_int_equal(dirfds_read_file(d, "/etc/linked/file.conf", 4096, &data, &len, &st), -ELOOP);
	assert_int_equal(dirfds_read_file(d, "/real/etc/link.conf", 4096, &data, &len, &st), -ELOOP);
	assert_int_equal(dirfds_get(d, "/etc/../real", false, 0, &fd), -EINVAL);
	assert_null(data);
	/* what made them fail: the first link on the way, and where it points */
	assert_int_equal(dirfds_first_link(d, "/etc/linked/file.conf", link, sizeof(link),
					   target, sizeof(target)), 1);
	assert_string_equal(link, "/etc/linked");
	assert_string_equal(target + strlen(f->root), "/real/etc");
	assert_int_equal(dirfds_first_link(d, "/real/etc/link.conf", link, sizeof(link),
					   target, sizeof(target)), 1);
	assert_string_equal(link, "/real/etc/link.conf");
	assert_string_equal(target, "file.conf");
	assert_int_equal(dirfds_first_link(d, "/real/etc/file.conf", link, sizeof(link),
					   target, sizeof(target)), 0);
	assert_int_equal(dirfds_first_link(d, "/real/missing/x", link, sizeof(link),
					   target, sizeof(target)), 0);
	dirfds_free(d);
}

static void test_fsutil_missing_then_made(void **state)
{
	struct fixture *f = *state;
	struct dirfds *d = NULL;
	char path[128];
	struct stat st;
	int fd, fd2;

	put(f, "/var", NULL);
	assert_int_equal(dirfds_new(f->root, &d), 0);
	assert_int_equal(dirfds_stat(d, "/var/lib/app/x.conf", &st), -ENOENT);
	assert_int_equal(dirfds_get(d, "/var/lib", false, 0, &fd), -ENOENT);
	/* made behind its back: still missing until forgotten */
	snprintf(path, sizeof(path), "%s/var/lib", f->root);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(dirfds_get(d, "/var/lib", false, 0, &fd), -ENOENT);
	dirfds_forget(d, "/var/lib");
	assert_int_equal(dirfds_get(d, "/var/lib", false, 0, &fd), 0);
	/* create makes what is missing, with the mode asked for */
	assert_int_equal(dirfds_get(d, "/var/lib/app/logs", true, 0700, &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/var/lib/app", f->root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* removed: forgotten, then missing */
	snprintf(path, sizeof(path), "%s/var/lib/app/logs", f->root);
	assert_int_equal(rmdir(path), 0);
	dirfds_forget(d, "/var/lib/app/logs");
	assert_int_equal(dirfds_get(d, "/var/lib/app/logs", false, 0, &fd2), -ENOENT);
	dirfds_free(d);
}

static void test_fsutil_read_only_regular(void **state)
{
	struct fixture *f = *state;
	struct dirfds *d = NULL;
	char path[128], *data = NULL, **names = NULL;
	struct stat st;
	size_t len, n = 0;

	put(f, "/etc/a.conf", "");
	put(f, "/etc/dir", NULL);
	snprintf(path, sizeof(path), "%s/etc/fifo.conf", f->root);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(dirfds_new(f->root, &d), 0);
	assert_int_equal(dirfds_read_file(d, "/etc/fifo.conf", 4096, &data, &len, &st), -EINVAL);
	assert_int_equal(dirfds_read_file(d, "/etc/dir", 4096, &data, &len, &st), -EISDIR);
	assert_int_equal(dirfds_read_file(d, "/etc/none", 4096, &data, &len, &st), -ENOENT);
	assert_null(data);
	/* an empty file reads as empty */
	assert_int_equal(dirfds_read_file(d, "/etc/a.conf", 4096, &data, &len, &st), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
	assert_string_equal(file_type_name(path), "a FIFO");
	assert_int_equal(dirfds_list(d, "/etc", &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a.conf");
	assert_string_equal(names[2], "fifo.conf");
	names_free(names, n);
	assert_int_equal(dirfds_list(d, "/nowhere", &names, &n), 0);
	assert_int_equal(n, 0);
	dirfds_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fsutil_each_dir_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsutil_symlink_component, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsutil_missing_then_made, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsutil_read_only_regular, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
