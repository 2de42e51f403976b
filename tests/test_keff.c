/*
 * The effective K3s configuration as K3s computes it: later files win,
 * `key+:` appends (also within one file), a plain key after `key+:`
 * replaces, null and empty values are empty, booleans by meaning, and the
 * files of a root are read in K3s's order.
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
#include <unistd.h>
#include <cmocka.h>

#include "keff.h"

struct fixture {
	struct keff E;
	struct diags d, w;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	keff_free(&f->E);
	diags_free(&f->d);
	diags_free(&f->w);
	free(f);
	ynode_intern_free();
	return 0;
}

static void add(struct fixture *f, const char *label, const char *text)
{
	assert_int_equal(keff_add(&f->E, label, text, strlen(text), &f->d, &f->w), 0);
}

static void test_keff_order_and_plus(void **state)
{
	struct fixture *f = *state;
	const struct keff_key *k;

	add(f, "config.yaml", "kube-apiserver-arg:\n  - a=1\n  - b=2\ntoken: x\n");
	add(f, "config.yaml.d/10.yaml", "kube-apiserver-arg+: [c=3]\ntoken: y\n");
	k = keff_get(&f->E, "kube-apiserver-arg");
	assert_non_null(k);
	assert_int_equal(k->n, 3);
	assert_string_equal(k->items[2].value, "c=3");
	assert_string_equal(k->items[2].node->file, "config.yaml.d/10.yaml");
	assert_string_equal(keff_value(&f->E, "token"), "y");
	add(f, "config.yaml.d/20.yaml", "kube-apiserver-arg+:\n  - --a=9\nkube-apiserver-arg:\n  - d=4\n");
	k = keff_get(&f->E, "kube-apiserver-arg");
	assert_int_equal(k->n, 1);
	assert_string_equal(k->items[0].value, "d=4");
	assert_null(keff_flag(&f->E, "kube-apiserver-arg", "a"));
	assert_non_null(keff_flag(&f->E, "kube-apiserver-arg", "d"));
	assert_int_equal(k->assigned->start.line, 3);
}

static void test_keff_null_and_bool(void **state)
{
	struct fixture *f = *state;

	add(f, "config.yaml", "kubelet-arg: ~\nprotect-kernel-defaults: yes\nsecrets-encryption: \"yes\"\n"
	    "x: [\"\", ~]\nwrite-kubeconfig-mode:\n");
	assert_int_equal(keff_get(&f->E, "kubelet-arg")->n, 0);
	assert_int_equal(keff_bool(&f->E, "protect-kernel-defaults"), 1);
	/* a quoted "yes" is a string to YAML and not a boolean to Go's ParseBool */
	assert_int_equal(keff_bool(&f->E, "secrets-encryption"), -1);
	assert_int_equal(keff_get(&f->E, "x")->n, 1);
	assert_null(keff_value(&f->E, "write-kubeconfig-mode"));
	assert_int_equal(keff_bool(&f->E, "nope"), -1);
	/* unknown options are warnings only */
	assert_true(f->w.n >= 1);
	assert_int_equal(f->d.n, 0);
}

/* A comma-separated value names a plugin exactly, not by prefix. */
static void test_keff_csv_has(void **state)
{
	(void)state;
	assert_true(keff_csv_has("NodeRestriction,PodSecurityPolicy", "PodSecurityPolicy"));
	assert_true(keff_csv_has("NodeRestriction,PodSecurityPolicy", "NodeRestriction"));
	assert_false(keff_csv_has("NodeRestriction,PodSecurityPolicy", "PodSecurity"));
	assert_false(keff_csv_has("PodSecurityPolicyX", "PodSecurityPolicy"));
	assert_false(keff_csv_has("", "NodeRestriction"));
	assert_false(keff_csv_has(NULL, "NodeRestriction"));
}

static void test_keff_flags(void **state)
{
	(void)state;
	assert_true(keff_same_flag("--audit-log-path=/x", "audit-log-path"));
	assert_true(keff_same_flag("audit-log-path=/x", "audit-log-path"));
	assert_false(keff_same_flag("audit-log-path-x=/x", "audit-log-path"));
	assert_string_equal(keff_flag_value("a=b=c"), "b=c");
	assert_string_equal(keff_flag_value("flag"), "");
}

static void test_keff_not_a_mapping(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(keff_add(&f->E, "c.yaml", "- a\n", 4, &f->d, NULL), -EINVAL);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(f->d.v[0].file, "c.yaml");
}

static void put(const char *root, const char *rel, const char *text)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_keff_read_root(void **state)
{
	struct fixture *f = *state;
	char root[] = "/tmp/k3h-keff-XXXXXX", p[4200];

	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/etc", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/rancher", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s/config.yaml.d", root);
	assert_int_equal(mkdir(p, 0755), 0);
	put(root, "etc/rancher/k3s/config.yaml", "data-dir: /a\n");
	put(root, "etc/rancher/k3s/config.yaml.d/20-b.yaml", "data-dir: /c\n");
	put(root, "etc/rancher/k3s/config.yaml.d/10-a.yml", "data-dir: /b\n");
	put(root, "etc/rancher/k3s/config.yaml.d/30-c.txt", "data-dir: /ignored\n");
	assert_int_equal(keff_read_root(&f->E, root, NULL, &f->d, NULL), 0);
	assert_string_equal(keff_value(&f->E, "data-dir"), "/c");
	assert_int_equal(f->E.n_data, 3);
	/* the fixture's tree is removed by unlinking what we made */
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s/config.yaml.d/20-b.yaml", root); unlink(p);
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s/config.yaml.d/10-a.yml", root); unlink(p);
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s/config.yaml.d/30-c.txt", root); unlink(p);
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s/config.yaml.d", root); rmdir(p);
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s/config.yaml", root); unlink(p);
	snprintf(p, sizeof(p), "%s/etc/rancher/k3s", root); rmdir(p);
	snprintf(p, sizeof(p), "%s/etc/rancher", root); rmdir(p);
	snprintf(p, sizeof(p), "%s/etc", root); rmdir(p);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keff_order_and_plus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keff_null_and_bool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keff_flags, setup, teardown),
		cmocka_unit_test(test_keff_csv_has),
		cmocka_unit_test_setup_teardown(test_keff_not_a_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keff_read_root, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
