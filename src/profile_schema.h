#ifndef K3H_PROFILE_SCHEMA_H
#define K3H_PROFILE_SCHEMA_H

#include <cyaml/cyaml.h>

extern const cyaml_schema_value_t profile_schema;

#endif
