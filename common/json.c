/* json.c - see json.h. */
#include "json.h"

cJSON *ds_json_parse_all(const char *json, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);

	if (!root)
		return NULL;
	while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != json + len) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}
