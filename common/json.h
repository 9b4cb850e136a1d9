/*
 * json.h - the strictness every JSON file of a checkpoint gets on top of
 * cJSON: one value and nothing but white space after it, and the largest
 * integer a double holds exactly.
 */
#ifndef DS_JSON_H
#define DS_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* 2^53: above it doubles skip integers, so a larger JSON number cannot be
 * trusted as an integer */
#define DS_JSON_INT_MAX 9007199254740992.0

/* Parse json[0..len) as one value followed by nothing but white space;
 * NULL when it is not (cJSON alone stops at the end of the first value). */
cJSON *ds_json_parse_all(const char *json, size_t len);

#endif
