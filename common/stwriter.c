/*
 * stwriter.c - safetensors writer; see stwriter.h.
 *
 * Threads pwrite() their parts in any order (a write past the end leaves a
 * hole); ds_stw_close() sets the final size with ftruncate(), so a part
 * never written reads back as zeros.  The size is not set up front: a
 * file size limit (RLIMIT_FSIZE) or a full disk then stops the writer in
 * the middle of the payload, where the tests kill it, not before it.
 */
#include "stwriter.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

void ds_stw_init(struct ds_stwriter *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

int ds_stw_add(struct ds_stwriter *w, const char *name, enum ds_dtype dtype, int ndim,
	       const int64_t *shape, struct ds_error *err)
{
	struct ds_stw_tensor *t;
	int64_t numel;
	uint64_t nbytes;

	if (!ds_dtype_size(dtype) || dtype == DS_IDVAL)
		return ds_error_set(err, EX_DATAERR, "tensor '%s': dtype %d cannot be stored", name, (int)dtype), -1;
	if (ndim < 0 || ndim > DS_MAX_DIMS || ds_shape_numel(shape, ndim, &numel) ||
	    __builtin_mul_overflow((uint64_t)numel, (uint64_t)ds_dtype_size(dtype), &nbytes))
		return ds_error_set(err, EX_DATAERR, "tensor '%s': bad shape", name), -1;
	if (w->ntensors == w->cap) {
		int cap = w->cap ? 2 * w->cap : 64;
		void *p = realloc(w->t, (size_t)cap * sizeof(*w->t));
		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory"), -1;
		w->t = p;
		w->cap = cap;
	}
	t = &w->t[w->ntensors];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	if (!t->name)
		return ds_error_set(err, EX_OSERR, "out of memory"), -1;
	t->dtype = dtype;
	t->ndim = ndim;
	memcpy(t->shape, shape, (size_t)ndim * sizeof(*shape));
	t->nbytes = nbytes;
	return w->ntensors++;
}

int ds_stw_meta(struct ds_stwriter *w, const char *key, const char *value, struct ds_error *err)
{
	char **p = realloc(w->meta, (size_t)(w->nmeta + 1) * 2 * sizeof(*p));

	if (!p)
		return ds_error_set(err, EX_OSERR, "out of memory");
	w->meta = p;
	p[2 * w->nmeta] = strdup(key);
	p[2 * w->nmeta + 1] = strdup(value);
	w->nmeta++;
	if (!p[2 * w->nmeta - 2] || !p[2 * w->nmeta - 1])
		return ds_error_set(err, EX_OSERR, "out of memory");
	return 0;
}

/* a growing text buffer for the header */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* a JSON string literal */
static void put_str(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(b, esc, 6);
		} else {
			put(b, (const char *)&c, 1);
		}
	}
	put(b, "\"", 1);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(struct ds_stw_tensor *const *)a)->name, (*(struct ds_stw_tensor *const *)b)->name);
}

/* The data order into order[]: by element size, largest first, then by
 * name.  One sort by name (which also finds a name declared twice), then a
 * stable pass per element size (1, 2, 4 or 8 bytes). */
static int layout(const struct ds_stwriter *w, struct ds_stw_tensor **order, struct ds_error *err)
{
	struct ds_stw_tensor **byname = malloc(((size_t)w->ntensors + 1) * sizeof(*byname));
	int k = 0, rc = 0;

	if (!byname)
		return ds_error_set(err, EX_OSERR, "out of memory");
	for (int i = 0; i < w->ntensors; i++)
		byname[i] = &w->t[i];
	qsort(byname, (size_t)w->ntensors, sizeof(*byname), cmp_name);
	for (int i = 1; i < w->ntensors && !rc; i++)
		if (!strcmp(byname[i - 1]->name, byname[i]->name))
			rc = ds_error_set(err, EX_DATAERR, "tensor '%s' declared twice", byname[i]->name);
	for (size_t size = 8; size && !rc; size >>= 1)
		for (int i = 0; i < w->ntensors; i++)
			if (ds_dtype_size(byname[i]->dtype) == size)
				order[k++] = byname[i];
	free(byname);
	if (!rc && k != w->ntensors)
		rc = ds_error_set(err, EX_SOFTWARE, "an element size other than 1, 2, 4 or 8 bytes");
	return rc;
}

int ds_stw_create(struct ds_stwriter *w, const char *path, struct ds_error *err)
{
	struct buf b = { 0 };
	struct ds_stw_tensor **order = malloc(((size_t)w->ntensors + 1) * sizeof(*order));
	uint64_t at = 0;
	char num[64];
	int rc = 0;

	if (!order)
		return ds_error_set(err, EX_OSERR, "out of memory");
	if ((rc = layout(w, order, err))) {
		free(order);
		return rc;
	}
	puts_(&b, "{");
	if (w->nmeta) {
		puts_(&b, "\"__metadata__\":{");
		for (int i = 0; i < w->nmeta; i++) {
			if (i)
				puts_(&b, ",");
			put_str(&b, w->meta[2 * i]);
			puts_(&b, ":");
			put_str(&b, w->meta[2 * i + 1]);
		}
		puts_(&b, "}");
	}
	for (int k = 0; k < w->ntensors; k++) {
		struct ds_stw_tensor *t = order[k];
		if (k || w->nmeta)
			puts_(&b, ",");
		put_str(&b, t->name);
		puts_(&b, ":{\"dtype\":\"");
		puts_(&b, ds_dtype_name(t->dtype));
		puts_(&b, "\",\"shape\":[");
		for (int d = 0; d < t->ndim; d++) {
			snprintf(num, sizeof(num), "%s%" PRId64, d ? "," : "", t->shape[d]);
			puts_(&b, num);
		}
		snprintf(num, sizeof(num), "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", at, at + t->nbytes);
		puts_(&b, num);
		t->offset = at;	/* relative for now */
		at += t->nbytes;
	}
	puts_(&b, "}");
	while ((b.len + 8) % 8)
		puts_(&b, " ");
	free(order);
	if (b.oom) {
		free(b.p);
		return ds_error_set(err, EX_OSERR, "out of memory");
	}
	w->data_start = 8 + b.len;
	w->size = w->data_start + at;
	for (int i = 0; i < w->ntensors; i++)
		w->t[i].offset += w->data_start;

	free(w->path);
	free(w->tmp);
	w->path = strdup(path);
	w->tmp = malloc(strlen(path) + sizeof(DS_STW_PARTIAL));
	if (!w->path || !w->tmp) {
		free(b.p);
		return ds_error_set(err, EX_OSERR, "out of memory");
	}
	sprintf(w->tmp, "%s%s", path, DS_STW_PARTIAL);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		rc = ds_error_set(err, EX_CANTCREAT, "cannot create '%s': %s", w->tmp, strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		free(b.p);
		return rc;
	}
	{
		uint8_t len[8];
		for (int i = 0; i < 8; i++)
			len[i] = (uint8_t)((uint64_t)b.len >> (8 * i));
		if (pwrite(w->fd, len, 8, 0) != 8)
			rc = ds_error_set(err, EX_IOERR, "%s: write error: %s", w->tmp, strerror(errno));
	}
	if (!rc) {
		uint64_t done = 0;
		while (done < b.len) {
			ssize_t n = pwrite(w->fd, b.p + done, b.len - done, (off_t)(8 + done));
			if (n <= 0) {
				rc = ds_error_set(err, EX_IOERR, "%s: write error: %s", w->tmp, strerror(errno));
				break;
			}
			done += (uint64_t)n;
		}
	}
	free(b.p);
	return rc;
}

int ds_stw_pwrite(const struct ds_stwriter *w, int id, uint64_t at, const void *buf, size_t n,
		  struct ds_error *err)
{
	const struct ds_stw_tensor *t;
	const uint8_t *p = buf;

	if (id < 0 || id >= w->ntensors || w->fd < 0)
		return ds_error_set(err, EX_SOFTWARE, "bad tensor id %d", id);
	t = &w->t[id];
	if (at > t->nbytes || n > t->nbytes - at)
		return ds_error_set(err, EX_SOFTWARE, "tensor '%s': write of %zu bytes at %" PRIu64
				    " runs past its %" PRIu64 " bytes", t->name, n, at, t->nbytes);
	while (n) {
		ssize_t k = pwrite(w->fd, p, n, (off_t)(t->offset + at));
		if (k <= 0)
			return ds_error_set(err, EX_IOERR, "%s: write error: %s", w->tmp,
					    k < 0 ? strerror(errno) : "no progress");
		p += k;
		at += (uint64_t)k;
		n -= (size_t)k;
	}
	return 0;
}

int ds_stw_close(struct ds_stwriter *w, struct ds_error *err)
{
	int rc = 0;

	if (w->fd < 0)
		return w->tmp ? ds_error_set(err, EX_SOFTWARE, "%s: closed twice", w->tmp) : 0;
	if (ftruncate(w->fd, (off_t)w->size))
		rc = ds_error_set(err, EX_IOERR, "%s: cannot set the size: %s", w->tmp, strerror(errno));
	if (close(w->fd) && !rc)
		rc = ds_error_set(err, EX_IOERR, "%s: close: %s", w->tmp, strerror(errno));
	w->fd = -1;
	if (!rc && rename(w->tmp, w->path))
		rc = ds_error_set(err, EX_IOERR, "cannot rename '%s' to '%s': %s", w->tmp, w->path, strerror(errno));
	if (rc)
		return rc;	/* release removes the .partial file */
	free(w->tmp);
	w->tmp = NULL;
	return 0;
}

void ds_stw_release(struct ds_stwriter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	for (int i = 0; i < w->ntensors; i++)
		free(w->t[i].name);
	free(w->t);
	for (int i = 0; i < 2 * w->nmeta; i++)
		free(w->meta[i]);
	free(w->meta);
	free(w->path);
	ds_stw_init(w);
}
