/*
 * The benchmark tables as C data, generated at build time by
 * tools/bench-gen.c into $(BUILD)/benchmark_data.c; read only through
 * benchmark.h. Strings are offsets into one pool (BGEN_NONE: absent), so
 * the data holds no pointers and costs nothing at process start;
 * benchmark.c makes a table's structs (the benchmark_rt_ arrays) when it is
 * first used.
 */
#ifndef K3H_BENCHMARK_DATA_H
#define K3H_BENCHMARK_DATA_H

#include <stdint.h>

#include "benchmark.h"

#define BGEN_NONE UINT32_MAX

struct bgen_table {
	uint32_t name, title, k3s_min, k3s_max, source;
	uint32_t controls, n_controls;  /* in benchmark_gen_controls */
};

struct bgen_control {
	uint32_t id, key, title, section, type, assessment, note;
	uint32_t component, config, config_file, file, bin_op;
	uint32_t items, n_items;        /* in benchmark_gen_items */
	unsigned char scored, skip, role, remedy, multiple;
};

struct bgen_item {
	uint32_t flag, path, op, value;
};

struct bgen_key {
	uint32_t key, newest;
};

extern const struct bgen_table benchmark_gen_tables[];          /* oldest first */
extern const struct bgen_control benchmark_gen_controls[];
extern const struct bgen_item benchmark_gen_items[];
extern const struct bgen_key benchmark_gen_keys[];              /* sorted by key */
extern const char benchmark_pool[];
extern const size_t benchmark_n_tables, benchmark_n_keys;

extern struct benchmark benchmark_rt_tables[];
extern const char *benchmark_rt_names[];
extern struct bench_control benchmark_rt_controls[];
extern struct bench_item benchmark_rt_items[];
extern struct bench_key benchmark_rt_keys[];

#endif
