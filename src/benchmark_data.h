/*
 * The benchmark tables as C data, generated at build time by
 * tools/bench-gen.c into $(BUILD)/benchmark_data.c; read only through
 * benchmark.h.
 */
#ifndef K3H_BENCHMARK_DATA_H
#define K3H_BENCHMARK_DATA_H

#include "benchmark.h"

extern const struct benchmark benchmark_tables[];       /* oldest first */
extern const char *const benchmark_table_names[];       /* their names, same order */
extern const size_t benchmark_n_tables;
extern const struct bench_key benchmark_key_index[];    /* sorted by key */
extern const size_t benchmark_n_keys;

#endif
