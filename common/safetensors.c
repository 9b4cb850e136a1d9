/*
 * safetensors.c - mapping and validating safetensors files and checkpoint
 * directories; see safetensors.h for the contract.
 *
 * File layout (HF's format, little-endian): u64 N, N bytes of JSON header
 * (an object, possibly padded with spaces), then the data section.  Every
 * tensor entry names a byte range [begin, end) of the data section; the
 * ranges must tile it exactly, as HF's own loader demands.
 *
 * Checkpoint decisions (documented in man/ds-sum.1 too):
 *   - A directory with model.safetensors is a single-file checkpoint (HF
 *     looks for it before the index); otherwise model.safetensors.index.json
 *     is read and its weight_map is the whole truth.
 *   - A shard name must be a relative path with no ".." component; symbolic
 *     links are followed, because the Hugging Face cache stores shards as
 *     links to ../../blobs/.
 *   - A shard named by the index but missing is EX_NOINPUT (an incomplete
 *     download); a mapped tensor absent from its shard is EX_DATAERR.
 *   - Tensors present in a shard but mapped elsewhere or not at all are
 *     ignored: they are not visible through the checkpoint.
 *
 * Not done here: anything about what the tensors mean (names, shapes per
 * model) beyond the FP8 "_scale_inv" companion rule.
 */
#include "safetensors.h"
#include "fileio.h"
#include "json.h"
#include "mapguard.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#define INDEX_MAX ((size_t)256 << 20)

/* ---- one file ---- */

/* The safetensors spelling only ("F32", "BF16", ...); IDVAL is ours. */
static enum ds_dtype st_dtype(const char *s)
{
	for (int i = 1; i < DS_DT_COUNT; i++)
		if (i != DS_IDVAL && !strcmp(s, ds_dtype_name((enum ds_dtype)i)))
			return (enum ds_dtype)i;
	return DS_DT_INVALID;
}

static int json_u53(const cJSON *it, uint64_t *out)
{
	double v;

	if (!cJSON_IsNumber(it))
		return -1;
	v = it->valuedouble;
	if (!(v >= 0) || v > DS_JSON_INT_MAX || v != floor(v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

struct range {
	uint64_t begin, end;
	int idx;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->idx - y->idx;
}

static int cmp_info_name(const void *a, const void *b)
{
	const struct ds_tensor_info *const *x = a, *const *y = b;
	int c = strcmp((*x)->name, (*y)->name);

	if (c)
		return c;
	return (*x)->file - (*y)->file;
}

/* Validate one header entry into t (name and pointers set later). */
static int parse_entry(const cJSON *e, struct ds_tensor_info *t, uint64_t *begin, uint64_t *end,
		       const char *fname, struct ds_error *err)
{
	const char *name = e->string;
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
	const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
	const cJSON *d;
	int64_t numel;
	uint64_t nbytes;

	if (!cJSON_IsObject(e))
		return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': entry is not an object", fname, name);
	cJSON_ArrayForEach(d, e)	/* cJSON would take the first of two; the reference refuses */
		if (cJSON_GetObjectItemCaseSensitive(e, d->string) != d)
			return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': field '%s' given twice", fname, name,
					    d->string);
	if (!dt || !cJSON_IsString(dt))
		return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': missing dtype", fname, name);
	t->dtype = st_dtype(dt->valuestring);
	if (t->dtype == DS_DT_INVALID)
		return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': unknown dtype '%.32s'", fname, name,
				    dt->valuestring);
	if (!shape || !cJSON_IsArray(shape))
		return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': missing shape", fname, name);
	if (cJSON_GetArraySize(shape) > DS_MAX_DIMS)
		return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': more than %d dimensions", fname, name,
				    DS_MAX_DIMS);
	t->ndim = 0;
	cJSON_ArrayForEach(d, shape) {
		uint64_t v;
		if (json_u53(d, &v))
			return ds_error_set(err, EX_DATAERR,
					    "%s: tensor '%s': shape holds something other than a non-negative integer",
					    fname, name);
		t->shape[t->ndim++] = (int64_t)v;
	}
	if (ds_shape_numel(t->shape, t->ndim, &numel) ||
	    __builtin_mul_overflow((uint64_t)numel, (uint64_t)ds_dtype_size(t->dtype), &nbytes))
		return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': shape overflows", fname, name);
	if (!offs || !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
	    json_u53(cJSON_GetArrayItem(offs, 0), begin) || json_u53(cJSON_GetArrayItem(offs, 1), end))
		return ds_error_set(err, EX_DATAERR,
				    "%s: tensor '%s': data_offsets must be two non-negative integers", fname, name);
	if (*begin > *end)
		return ds_error_set(err, EX_DATAERR, "%s: tensor '%s': data_offsets reversed (%llu > %llu)",
				    fname, name, (unsigned long long)*begin, (unsigned long long)*end);
	if (*end - *begin != nbytes)
		return ds_error_set(err, EX_DATAERR,
				    "%s: tensor '%s': data_offsets span %llu bytes but shape x %s needs %llu",
				    fname, name, (unsigned long long)(*end - *begin), ds_dtype_name(t->dtype),
				    (unsigned long long)nbytes);
	t->nbytes = (size_t)nbytes;
	return 0;
}

/* The ranges must tile [0, data_size) exactly. */
static int check_tiling(struct range *r, int n, uint64_t data_size, const struct ds_st_file *f,
			struct ds_error *err)
{
	uint64_t at = 0;

	qsort(r, (size_t)n, sizeof(*r), cmp_range);
	for (int i = 0; i < n; i++) {
		const char *name = f->tensors[r[i].idx].name;
		if (r[i].end > data_size)
			return ds_error_set(err, EX_DATAERR,
					    "%s: tensor '%s': data ends at %llu, past the data section (%llu bytes)",
					    f->path, name, (unsigned long long)r[i].end,
					    (unsigned long long)data_size);
		if (r[i].begin < at)
			return ds_error_set(err, EX_DATAERR, "%s: tensor '%s' overlaps the tensor before it (byte %llu)",
					    f->path, name, (unsigned long long)r[i].begin);
		if (r[i].begin > at)
			return ds_error_set(err, EX_DATAERR, "%s: hole in the data section at bytes %llu..%llu",
					    f->path, (unsigned long long)at, (unsigned long long)r[i].begin);
		at = r[i].end;
	}
	if (at != data_size)
		return ds_error_set(err, EX_DATAERR,
				    "%s: %llu bytes after the last tensor are not described by the header",
				    f->path, (unsigned long long)(data_size - at));
	return 0;
}

/* f->sorted: the tensors by name, which must be unique */
static int sort_unique(struct ds_st_file *f, struct ds_error *err)
{
	const struct ds_tensor_info **p = malloc(((size_t)f->ntensors + 1) * sizeof(*p));

	if (!p)
		return ds_error_set(err, EX_OSERR, "%s: out of memory", f->path);
	for (int i = 0; i < f->ntensors; i++)
		p[i] = &f->tensors[i];
	qsort(p, (size_t)f->ntensors, sizeof(*p), cmp_info_name);
	f->sorted = p;
	for (int i = 1; i < f->ntensors; i++)
		if (!strcmp(p[i - 1]->name, p[i]->name))
			return ds_error_set(err, EX_DATAERR, "%s: duplicate tensor name '%s'", f->path, p[i]->name);
	return 0;
}

static char *stash(char **at, const char *s)
{
	char *r = *at;
	size_t n = strlen(s) + 1;

	memcpy(r, s, n);
	*at += n;
	return r;
}

static int parse_metadata(struct ds_st_file *f, const cJSON *m, char **at, struct ds_error *err)
{
	const cJSON *kv;
	int n = 0;

	if (cJSON_IsNull(m))
		return 0;	/* the reference's Option: no metadata */
	if (!cJSON_IsObject(m))
		return ds_error_set(err, EX_DATAERR, "%s: __metadata__ is not an object", f->path);
	cJSON_ArrayForEach(kv, m) {
		if (!cJSON_IsString(kv))
			return ds_error_set(err, EX_DATAERR, "%s: __metadata__ value '%s' is not a string",
					    f->path, kv->string);
		n++;
	}
	f->meta_keys = calloc((size_t)n + 1, sizeof(char *));
	f->meta_values = calloc((size_t)n + 1, sizeof(char *));
	if (!f->meta_keys || !f->meta_values)
		return ds_error_set(err, EX_OSERR, "%s: out of memory", f->path);
	cJSON_ArrayForEach(kv, m) {
		f->meta_keys[f->nmeta] = stash(at, kv->string);
		f->meta_values[f->nmeta++] = stash(at, kv->valuestring);
	}
	return 0;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
		if (d > 15)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* The length of a JSON number at s (RFC 8259's grammar: no leading zeros,
 * '+' or bare '.'), 0 when s does not start with one. */
static size_t json_number_len(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i;
}

/*
 * What the reference loader (the Rust safetensors crate: serde_json over
 * str::from_utf8) refuses and cJSON would take: a header that is not valid
 * UTF-8, a raw control character inside a string, an escaped surrogate
 * that is not half of a pair, white space other than space, tab, CR and
 * LF, a number outside JSON's grammar (01, 1., .5), and a fraction or
 * exponent in a shape or data_offsets array (1.0, 1e3: not an integer to
 * serde, though the same double to cJSON).  One thing more is
 * refused here: a string holding U+0000 (\u0000), which the reference
 * keeps but a C string cannot, so two different names could become one.
 */
static int check_header_text(const char *hdr, size_t n, const char *path, struct ds_error *err)
{
	size_t bad = ds_utf8_check((const uint8_t *)hdr, n), str0 = 0;
	int in_str = 0, int_array = 0, key_int = 0;

	if (bad != n)
		return ds_error_set(err, EX_DATAERR, "%s: header is not valid UTF-8 (byte %zu)", path, bad + 8);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)hdr[i];
		unsigned cp, lo;

		if (c == '"') {
			if (!in_str)
				str0 = i + 1;
			else	/* a string that may be the key of what follows */
				key_int = (i - str0 == 5 && !memcmp(hdr + str0, "shape", 5)) ||
					  (i - str0 == 12 && !memcmp(hdr + str0, "data_offsets", 12));
			in_str = !in_str;
			continue;
		}
		if (!in_str) {
			size_t k;
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return ds_error_set(err, EX_DATAERR, "%s: a control character in the header (byte %zu)",
						    path, i + 8);
			if (c == '[')
				int_array = key_int;
			else if (c == ']')
				int_array = 0;
			if (c != ':' && c != ' ' && c != '\t' && c != '\n' && c != '\r')
				key_int = 0;
			if (c != '-' && (c < '0' || c > '9'))
				continue;
			if (!(k = json_number_len(hdr + i, n - i)) ||
			    (i + k < n && (hdr[i + k] == '.' || (hdr[i + k] >= '0' && hdr[i + k] <= '9'))))
				return ds_error_set(err, EX_DATAERR, "%s: a malformed number in the header (byte %zu)",
						    path, i + 8);
			if (int_array && (memchr(hdr + i, '.', k) || memchr(hdr + i, 'e', k) || memchr(hdr + i, 'E', k)))
				return ds_error_set(err, EX_DATAERR,
						    "%s: a shape or offset that is not written as an integer (byte %zu)",
						    path, i + 8);
			i += k - 1;
			continue;
		}
		if (c < 0x20)
			return ds_error_set(err, EX_DATAERR, "%s: a control character inside a header string (byte %zu)",
					    path, i + 8);
		if (c != '\\')
			continue;
		if (++i >= n || hdr[i] != 'u')
			continue;	/* a short escape: cJSON checks the letter */
		if (i + 5 > n || hex4(hdr + i + 1, &cp))
			return ds_error_set(err, EX_DATAERR, "%s: a bad \\u escape in the header (byte %zu)", path, i + 7);
		if (cp == 0)
			return ds_error_set(err, EX_DATAERR, "%s: a header string holds U+0000 (byte %zu)", path, i + 7);
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return ds_error_set(err, EX_DATAERR, "%s: a lone low surrogate \\u%04x in the header (byte %zu)",
					    path, cp, i + 7);
		if (cp >= 0xD800 && cp <= 0xDBFF &&
		    (i + 11 > n || hdr[i + 5] != '\\' || hdr[i + 6] != 'u' || hex4(hdr + i + 7, &lo) || lo < 0xDC00 ||
		     lo > 0xDFFF))
			return ds_error_set(err, EX_DATAERR, "%s: a lone high surrogate \\u%04x in the header (byte %zu)",
					    path, cp, i + 7);
		i += cp >= 0xD800 && cp <= 0xDBFF ? 10 : 4;	/* past the pair */
	}
	return 0;
}

static int parse_header(struct ds_st_file *f, struct ds_error *err)
{
	uint64_t hlen = 0, data_size;
	const char *hdr;
	char *text = NULL, *at;
	cJSON *root = NULL, *e;
	struct range *ranges = NULL;
	size_t strbytes = 0;
	int n = 0, nmeta = 0, rc = 0;

	if (f->size < 8)
		return ds_error_set(err, EX_DATAERR, "%s: %zu bytes, too short for a safetensors header",
				    f->path, f->size);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | f->map[i];
	if (hlen > DS_ST_MAX_HEADER)
		return ds_error_set(err, EX_DATAERR, "%s: header length %llu is larger than %llu bytes",
				    f->path, (unsigned long long)hlen, (unsigned long long)DS_ST_MAX_HEADER);
	if (hlen > f->size - 8)
		return ds_error_set(err, EX_DATAERR, "%s: header length %llu runs past the end of the file (%zu bytes)",
				    f->path, (unsigned long long)hlen, f->size);
	hdr = (const char *)f->map + 8;
	if (hlen < 2 || hdr[0] != '{')
		return ds_error_set(err, EX_DATAERR, "%s: header is not a JSON object", f->path);
	if (memchr(hdr, 0, hlen))
		return ds_error_set(err, EX_DATAERR, "%s: header contains a NUL byte", f->path);
	if ((rc = check_header_text(hdr, hlen, f->path, err)))
		return rc;
	/* a private NUL-terminated copy: cJSON never reads past it */
	text = malloc(hlen + 1);
	if (!text)
		return ds_error_set(err, EX_OSERR, "%s: out of memory", f->path);
	memcpy(text, hdr, hlen);
	text[hlen] = 0;
	{
		const char *end = NULL;
		root = cJSON_ParseWithOpts(text, &end, 0);
		if (!root || !cJSON_IsObject(root)) {
			rc = ds_error_set(err, EX_DATAERR, "%s: header is not a JSON object", f->path);
			goto out;
		}
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		if (*end) {
			rc = ds_error_set(err, EX_DATAERR, "%s: junk after the header's JSON object (byte %zu)",
					  f->path, (size_t)(end - text) + 8);
			goto out;
		}
	}
	data_size = f->size - 8 - hlen;
	cJSON_ArrayForEach(e, root) {
		strbytes += strlen(e->string) + 1;
		if (!strcmp(e->string, "__metadata__")) {
			const cJSON *kv;
			if (++nmeta > 1) {
				rc = ds_error_set(err, EX_DATAERR, "%s: two __metadata__ entries", f->path);
				goto out;
			}
			if (cJSON_IsObject(e))
				cJSON_ArrayForEach(kv, e)
					strbytes += strlen(kv->string) + 1 +
						    (cJSON_IsString(kv) ? strlen(kv->valuestring) + 1 : 0);
		} else {
			n++;
		}
	}
	f->strings = malloc(strbytes + 1);
	f->tensors = calloc((size_t)n + 1, sizeof(*f->tensors));
	ranges = calloc((size_t)n + 1, sizeof(*ranges));
	if (!f->strings || !f->tensors || !ranges) {
		rc = ds_error_set(err, EX_OSERR, "%s: out of memory", f->path);
		goto out;
	}
	at = f->strings;
	cJSON_ArrayForEach(e, root) {
		struct ds_tensor_info *t;
		if (!strcmp(e->string, "__metadata__")) {
			if ((rc = parse_metadata(f, e, &at, err)))
				goto out;
			continue;
		}
		t = &f->tensors[f->ntensors];
		if ((rc = parse_entry(e, t, &ranges[f->ntensors].begin, &ranges[f->ntensors].end, f->path, err)))
			goto out;
		t->name = stash(&at, e->string);
		t->offset = 8 + hlen + ranges[f->ntensors].begin;
		t->data = f->map + t->offset;
		t->file = 0;
		ranges[f->ntensors].idx = f->ntensors;
		f->ntensors++;
	}
	if ((rc = check_tiling(ranges, f->ntensors, data_size, f, err)) || (rc = sort_unique(f, err)))
		goto out;
out:
	free(ranges);
	cJSON_Delete(root);
	free(text);
	return rc;
}

static void st_free(struct ds_st_file *f)
{
	free(f->path);
	free(f->tensors);
	free(f->sorted);
	free(f->meta_keys);
	free(f->meta_values);
	free(f->strings);
}

int ds_st_parse(struct ds_st_file *f, const uint8_t *buf, size_t size, const char *name,
		struct ds_error *err)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->path = strdup(name ? name : "safetensors");
	if (!f->path)
		return ds_error_set(err, EX_OSERR, "out of memory");
	f->map = buf;
	f->size = size;
	rc = parse_header(f, err);
	if (rc) {
		st_free(f);
		memset(f, 0, sizeof(*f));
	}
	return rc;
}

int ds_st_open(struct ds_st_file *f, const char *path, struct ds_error *err)
{
	struct stat st;
	void *map;
	int fd, rc;

	memset(f, 0, sizeof(*f));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ds_error_set(err, errno == ENOENT || errno == ENOTDIR ? EX_NOINPUT : EX_IOERR,
				    "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		rc = ds_error_set(err, EX_IOERR, "cannot stat '%s': %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ds_error_set(err, EX_DATAERR, "%s: not a regular file", path);
	}
	if (st.st_size < 8) {
		close(fd);
		return ds_error_set(err, EX_DATAERR, "%s: %lld bytes, too short for a safetensors header",
				    path, (long long)st.st_size);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return ds_error_set(err, EX_IOERR, "cannot map '%s': %s", path, strerror(errno));
	/* from here a read of a page the file no longer backs is an error
	 * naming it (mapguard.h), the header's included */
	if ((rc = ds_mapguard_add(map, (size_t)st.st_size, path, err))) {
		munmap(map, (size_t)st.st_size);
		return rc;
	}
	rc = ds_st_parse(f, map, (size_t)st.st_size, path, err);
	if (rc) {
		ds_mapguard_remove(map);
		munmap(map, (size_t)st.st_size);
		return rc;
	}
	f->mapped = 1;
	return 0;
}

void ds_st_release(struct ds_st_file *f)
{
	if (f->mapped && f->map) {
		ds_mapguard_remove(f->map);
		munmap((void *)f->map, f->size);
	}
	st_free(f);
	memset(f, 0, sizeof(*f));
}

int ds_st_aligned(const struct ds_tensor_info *t)
{
	size_t a = ds_dtype_size(t->dtype);
	return a && ((uintptr_t)t->data % a) == 0;
}

/* ---- a checkpoint ---- */

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

/* A shard name must stay inside the directory, lexically. */
static int safe_relpath(const char *s)
{
	const char *c = s;

	if (!*s || *s == '/' || strlen(s) >= PATH_MAX)
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 0;
		c += n;
		while (*c == '/')
			c++;
	}
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_info_key(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ds_tensor_info *const *)elem)->name);
}

/* The tensor called name in an array sorted by unique names, or NULL. */
static const struct ds_tensor_info *find_sorted(const struct ds_tensor_info *const *sorted, size_t n,
						const char *name)
{
	const struct ds_tensor_info *const *hit = n ? bsearch(name, sorted, n, sizeof(*sorted), cmp_info_key) : NULL;

	return hit ? *hit : NULL;
}

void ds_st_index_release(struct ds_st_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		free(ix->names[i]);
		free(ix->shards[i]);
	}
	free(ix->names);
	free(ix->shards);
	free(ix->files);
	memset(ix, 0, sizeof(*ix));
}

int ds_st_index_parse(struct ds_st_index *ix, const char *text, size_t len, const char *name, struct ds_error *err)
{
	cJSON *root = ds_json_parse_all(text, len), *wm, *e;
	size_t k = 0, n = 0;
	int rc = 0;

	memset(ix, 0, sizeof(*ix));
	if (!root || !cJSON_IsObject(root)) {
		rc = ds_error_set(err, EX_DATAERR, "%s: not a JSON object", name);
		goto out;
	}
	wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
	if (!wm || !cJSON_IsObject(wm)) {
		rc = ds_error_set(err, EX_DATAERR, "%s: 'weight_map' is missing or not an object", name);
		goto out;
	}
	cJSON_ArrayForEach(e, wm) {
		if (!cJSON_IsString(e)) {
			rc = ds_error_set(err, EX_DATAERR, "%s: weight_map['%s'] is not a string", name, e->string);
			goto out;
		}
		if (!safe_relpath(e->valuestring)) {
			rc = ds_error_set(err, EX_DATAERR,
					  "%s: weight_map['%s'] = '%.200s' is not a path inside the model directory",
					  name, e->string, e->valuestring);
			goto out;
		}
		n++;
	}
	if (!n) {
		rc = ds_error_set(err, EX_DATAERR, "%s: weight_map is empty", name);
		goto out;
	}
	ix->names = calloc(n, sizeof(*ix->names));
	ix->shards = calloc(n, sizeof(*ix->shards));
	ix->files = malloc(n * sizeof(*ix->files));
	if (!ix->names || !ix->shards || !ix->files) {
		rc = ds_error_set(err, EX_OSERR, "out of memory");
		goto out;
	}
	ix->n = n;	/* from here release frees n entries */
	cJSON_ArrayForEach(e, wm) {
		ix->names[k] = strdup(e->string);
		ix->shards[k] = strdup(e->valuestring);
		if (!ix->names[k] || !ix->shards[k]) {
			rc = ds_error_set(err, EX_OSERR, "out of memory");
			goto out;
		}
		ix->files[k] = ix->shards[k];
		k++;
	}
	/* distinct shard names, sorted */
	qsort(ix->files, ix->n, sizeof(*ix->files), cmp_str);
	for (size_t i = 0; i < ix->n; i++)
		if (!ix->nfiles || strcmp(ix->files[ix->nfiles - 1], ix->files[i]))
			ix->files[ix->nfiles++] = ix->files[i];
out:
	cJSON_Delete(root);
	if (rc)
		ds_st_index_release(ix);
	return rc;
}

static int open_index(struct ds_checkpoint *ck, const char *index_path, struct ds_error *err)
{
	struct ds_st_index ix;
	char *text = NULL, *path = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ds_read_file(index_path, INDEX_MAX, EX_DATAERR, &text, &len, err)))
		return rc;
	rc = ds_st_index_parse(&ix, text, len, index_path, err);
	free(text);
	if (rc)
		return rc;
	ck->files = calloc(ix.nfiles, sizeof(*ck->files));
	if (!ck->files) {
		rc = ds_error_set(err, EX_OSERR, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ix.nfiles; i++) {
		path = join(ck->dir, ix.files[i]);
		if (!path) {
			rc = ds_error_set(err, EX_OSERR, "out of memory");
			goto out;
		}
		if ((rc = ds_st_open(&ck->files[i], path, err))) {
			if (rc == EX_NOINPUT)
				ds_error_prefix(err, "%s names a missing shard", index_path);
			goto out;
		}
		for (int j = 0; j < ck->files[i].ntensors; j++)
			ck->files[i].tensors[j].file = (int)i;
		ck->nfiles++;
		free(path);
		path = NULL;
	}
	ck->sorted = malloc(ix.n * sizeof(*ck->sorted));
	if (!ck->sorted) {
		rc = ds_error_set(err, EX_OSERR, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ix.n; i++) {
		char **sh = bsearch(&ix.shards[i], ix.files, ix.nfiles, sizeof(*ix.files), cmp_str);
		const struct ds_st_file *f = &ck->files[sh - ix.files];
		const struct ds_tensor_info *found = find_sorted(f->sorted, (size_t)f->ntensors, ix.names[i]);

		if (!found) {
			rc = ds_error_set(err, EX_DATAERR, "%s: tensor '%s' is mapped to '%s' but absent from it",
					  index_path, ix.names[i], ix.shards[i]);
			goto out;
		}
		ck->sorted[ck->ntensors++] = found;
	}
	qsort(ck->sorted, ck->ntensors, sizeof(*ck->sorted), cmp_info_name);
	for (size_t i = 1; i < ck->ntensors; i++)
		if (!strcmp(ck->sorted[i - 1]->name, ck->sorted[i]->name)) {
			rc = ds_error_set(err, EX_DATAERR, "%s: tensor '%s' appears twice in weight_map",
					  index_path, ck->sorted[i]->name);
			goto out;
		}
	rc = 0;
out:
	free(path);
	ds_st_index_release(&ix);
	return rc;
}

static int open_single(struct ds_checkpoint *ck, const char *file, struct ds_error *err)
{
	const struct ds_st_file *f;
	int rc;

	ck->files = calloc(1, sizeof(*ck->files));
	if (!ck->files)
		return ds_error_set(err, EX_OSERR, "out of memory");
	if ((rc = ds_st_open(&ck->files[0], file, err)))
		return rc;
	ck->nfiles = 1;
	f = &ck->files[0];
	ck->ntensors = (size_t)f->ntensors;
	ck->sorted = malloc((ck->ntensors + 1) * sizeof(*ck->sorted));
	if (!ck->sorted)
		return ds_error_set(err, EX_OSERR, "out of memory");
	memcpy(ck->sorted, f->sorted, ck->ntensors * sizeof(*ck->sorted));
	return 0;
}

static int check_scales(const struct ds_checkpoint *ck, long brows, long bcols, struct ds_error *err)
{
	for (size_t i = 0; i < ck->ntensors; i++) {
		const struct ds_tensor_info *w = ck->sorted[i], *s;
		char name[1024];
		int64_t r, c;

		if (w->dtype != DS_F8_E4M3)
			continue;
		if (w->ndim != 2)
			return ds_error_set(err, EX_DATAERR, "%s: FP8 tensor '%s' is not 2-dimensional",
					    ck->files[w->file].path, w->name);
		if (snprintf(name, sizeof(name), "%s_scale_inv", w->name) >= (int)sizeof(name))
			return ds_error_set(err, EX_DATAERR, "tensor name '%.60s...' is too long", w->name);
		s = ds_checkpoint_find(ck, name);
		if (!s)
			return ds_error_set(err, EX_DATAERR, "%s: FP8 tensor '%s' has no '%s'",
					    ck->files[w->file].path, w->name, name);
		r = (w->shape[0] + brows - 1) / brows;
		c = (w->shape[1] + bcols - 1) / bcols;
		if (s->dtype != DS_F32 || s->ndim != 2 || s->shape[0] != r || s->shape[1] != c)
			return ds_error_set(err, EX_DATAERR,
					    "%s: '%s' must be F32 [%lld, %lld] for FP8 '%s' [%lld, %lld] in %ldx%ld blocks",
					    ck->files[s->file].path, name, (long long)r, (long long)c, w->name,
					    (long long)w->shape[0], (long long)w->shape[1], brows, bcols);
	}
	return 0;
}

int ds_checkpoint_open_block(struct ds_checkpoint *ck, const char *path, long brows, long bcols,
			     struct ds_error *err)
{
	struct stat st;
	char *file = NULL;
	int rc;

	memset(ck, 0, sizeof(*ck));
	if (brows < 1 || bcols < 1)
		return ds_error_set(err, EX_SOFTWARE, "bad FP8 block size %ldx%ld", brows, bcols);
	if (stat(path, &st))
		return ds_error_set(err, errno == ENOENT || errno == ENOTDIR ? EX_NOINPUT : EX_IOERR,
				    "cannot open '%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		const char *slash = strrchr(path, '/');
		ck->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
		if (!ck->dir)
			return ds_error_set(err, EX_OSERR, "out of memory");
		rc = open_single(ck, path, err);
	} else {
		ck->dir = strdup(path);
		file = ck->dir ? join(path, "model.safetensors") : NULL;
		if (!file)
			return ds_error_set(err, EX_OSERR, "out of memory");
		if (!access(file, F_OK)) {
			rc = open_single(ck, file, err);
		} else {
			free(file);
			file = join(path, "model.safetensors.index.json");
			if (!file) {
				rc = ds_error_set(err, EX_OSERR, "out of memory");
			} else if (access(file, F_OK)) {
				rc = ds_error_set(err, EX_NOINPUT,
						  "'%s' holds neither model.safetensors nor model.safetensors.index.json",
						  path);
			} else {
				rc = open_index(ck, file, err);
			}
		}
	}
	if (!rc)
		rc = check_scales(ck, brows, bcols, err);
	free(file);
	if (rc)
		ds_checkpoint_release(ck);
	return rc;
}

int ds_checkpoint_open(struct ds_checkpoint *ck, const char *path, struct ds_error *err)
{
	return ds_checkpoint_open_block(ck, path, 128, 128, err);
}

const struct ds_tensor_info *ds_checkpoint_find(const struct ds_checkpoint *ck, const char *name)
{
	return find_sorted(ck->sorted, ck->ntensors, name);
}

long ds_checkpoint_index(const struct ds_checkpoint *ck, const char *name)
{
	const struct ds_tensor_info **hit =
		ck->ntensors ? bsearch(name, ck->sorted, ck->ntensors, sizeof(*ck->sorted), cmp_info_key) : NULL;

	return hit ? (long)(hit - ck->sorted) : -1;
}

void ds_checkpoint_release(struct ds_checkpoint *ck)
{
	for (int i = 0; i < ck->nfiles; i++)
		ds_st_release(&ck->files[i]);
	free(ck->files);
	free(ck->sorted);
	free(ck->dir);
	memset(ck, 0, sizeof(*ck));
}
