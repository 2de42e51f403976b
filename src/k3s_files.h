/*
 * Which configuration files K3s reads, in the order it reads them
 * (k3s-io/k3s pkg/configfilearg/parser.go, DESIGN.md fact 9): config.yaml,
 * then config.yaml.d/ *.yaml and *.yml (any case) in byte order. The merge,
 * the effective-configuration check and the effective value of a key all
 * walk this one list.
 */
#ifndef K3H_K3S_FILES_H
#define K3H_K3S_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* Whether K3s reads a file of this name from config.yaml.d. */
bool k3s_dropin_name(const char *name);

/*
 * The paths (below root) of config_path and its drop-ins, config_path first.
 * extra, a file name in config.yaml.d or NULL, is listed in its place even
 * when it does not exist yet (the drop-in apply is about to create). The
 * files need not exist; callers skip the missing ones. Free with names_free.
 */
int k3s_config_files(const char *root, const char *config_path, const char *extra,
		     char ***paths, size_t *n);

/*
 * Whether the files of benchmark file control KEY (file.pki_key_mode, ...)
 * keep a mode the tool sets: K3s creates them once (or on rotation) and
 * otherwise rewrites them in place, which keeps the mode, so a chmod lasts
 * (benchmarks/K3S-FACTS.md, "File modes K3s keeps"). Their mode controls
 * are what opt_in.file_modes tightens.
 */
bool k3s_mode_kept(const char *key);

#endif
