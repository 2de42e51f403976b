/*
 * Live kernel values under a --root tree: /proc/sys there is plain files
 * that someone else may have planted, so sysctl_check and sysctl_set refuse
 * hard links, FIFOs, devices and symlinks, and never block or write through
 * them; host files are type-checked before they are opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsutil.h"
#include "sysctl.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char p[128];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/k3h-sysctl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(p, sizeof(p), "%s/root", f->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/proc", f->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/proc/sys", f->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/proc/sys/kernel", f->dir);
	mkdir(p, 0755);
	snprintf(f->path, sizeof(f->path), "%s/root/proc/sys/kernel/panic", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	/* our own mkdtemp directory only */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->dir);
	if (strncmp(f->dir, "/tmp/k3h-sysctl-", 16) == 0 && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static char *get(const char *path)
{
	static char buf[64];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static const char *root(const struct fixture *f)
{
	static char r[80];

	snprintf(r, sizeof(r), "%s/root", f->dir);
	return r;
}

static void test_sysctl_regular_file(void **state)
{
	struct fixture *f = *state;
	char *v = NULL;

	put(f->path, "0\n");
	assert_int_equal(sysctl_check(root(f), "kernel.panic"), 0);
	assert_int_equal(sysctl_set(root(f), "kernel.panic", "10"), 0);
	assert_string_equal(get(f->path), "10\n");
	/* shorter than before: the rest is gone */
	assert_int_equal(sysctl_set(root(f), "kernel.panic", "1"), 0);
	assert_int_equal(sysctl_get(root(f), "kernel.panic", &v), 0);
	assert_string_equal(v, "1");
	free(v);
	assert_int_equal(sysctl_check(root(f), "kernel.nope"), -ENOENT);
	assert_int_equal(sysctl_set(root(f), "kernel.nope", "1"), -ENOENT);
}

/* A hard link to a file outside the root: never written through. */
static void test_sysctl_hard_link(void **state)
{
	struct fixture *f = *state;
	char outside[128];

	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	put(outside, "precious\n");
	assert_int_equal(link(outside, f->path), 0);
	assert_int_equal(sysctl_check(root(f), "kernel.panic"), -EMLINK);
	assert_string_equal(sysctl_check_reason(-EMLINK), "has more than one hard link");
	assert_int_equal(sysctl_set(root(f), "kernel.panic", "1"), -EMLINK);
	assert_string_equal(get(outside), "precious\n");
}

/* A FIFO: refused without blocking (no reader is there). */
static void test_sysctl_fifo(void **state)
{
	struct fixture *f = *state;
	char *v = NULL;

	assert_int_equal(mkfifo(f->path, 0644), 0);
	assert_int_equal(sysctl_check(root(f), "kernel.panic"), -EINVAL);
	assert_int_equal(sysctl_set(root(f), "kernel.panic", "1"), -EINVAL);
	assert_int_equal(sysctl_get(root(f), "kernel.panic", &v), -EINVAL);
	assert_null(v);
}

static void test_sysctl_symlink(void **state)
{
	struct fixture *f = *state;
	char outside[128];

	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	put(outside, "precious\n");
	assert_int_equal(symlink(outside, f->path), 0);
	assert_int_equal(sysctl_check(root(f), "kernel.panic"), -ELOOP);
	assert_int_equal(sysctl_set(root(f), "kernel.panic", "1"), -ELOOP);
	assert_string_equal(get(outside), "precious\n");
}

/* A character device (1,3 is /dev/null): its type is known before any open. */
static void test_sysctl_device(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int dfd;

	if (mknod(f->path, S_IFCHR | 0644, makedev(1, 3)) < 0) {
		assert_int_equal(errno, EPERM);
		skip();
	}
	assert_int_equal(sysctl_check(root(f), "kernel.panic"), -EINVAL);
	assert_int_equal(sysctl_set(root(f), "kernel.panic", "1"), -EINVAL);
	assert_int_equal(root_read_file(root(f), "/proc/sys/kernel/panic", 100, &data, &len, &st),
			 -EINVAL);
	assert_null(data);
	assert_int_equal(root_open_dir(root(f), "/proc/sys/kernel", false, 0, &dfd), 0);
	assert_int_equal(open_regular_at(dfd, "panic", O_RDONLY, &st), -EINVAL);
	close(dfd);
}

/* On procfs itself the files are the kernel's: accepted as they are. */
static void test_sysctl_procfs(void **state)
{
	struct stat st;

	(void)state;
	if (stat("/proc/sys/kernel/ostype", &st) < 0)
		skip();
	assert_int_equal(sysctl_check("/", "kernel.ostype"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sysctl_regular_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl_hard_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl_procfs, setup, teardown),
	};

	return cmocka_run_group_tests_name("sysctl", tests, NULL, NULL);
}
