/* tokproc.c - ds-tokenize as a child process; see tokproc.h. */
#include "tokproc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "proc.h"
#include "stream.h"

/* Write input to an unlinked-later temporary file; returns its path. */
static int temp_input(const char *input, size_t len, char *path, size_t pathlen, struct ds_error *err)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, pathlen, "%s/ds-run.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return ds_error_set(err, EX_CANTCREAT, "cannot create a temporary file in %s: %s",
				    dir && *dir ? dir : "/tmp", strerror(errno));
	for (size_t done = 0; done < len;) {
		ssize_t k = write(fd, input + done, len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			close(fd);
			unlink(path);
			return ds_error_set(err, EX_IOERR, "cannot write '%s': %s", path, strerror(errno));
		}
		done += (size_t)k;
	}
	close(fd);
	return 0;
}

int ds_tokproc_run(const char *model, const char *const *args, const char *input, size_t len,
		   char **out, size_t *outlen, struct ds_error *err)
{
	struct ds_proc p;
	char path[4096];
	int fds[2], rc;
	size_t n = 0, cap = 4096;
	char *buf;

	if ((rc = temp_input(input, len, path, sizeof(path), err)))
		return rc;
	ds_proc_init(&p, "ds-tokenize");
	ds_proc_arg(&p, "-m");
	ds_proc_arg(&p, model);
	for (int i = 0; args && args[i]; i++)
		ds_proc_arg(&p, args[i]);
	ds_proc_arg(&p, path);
	if (ds_pipe(fds)) {
		unlink(path);
		ds_proc_release(&p);
		return ds_error_set(err, EX_OSERR, "cannot make a pipe: %s", strerror(errno));
	}
	rc = ds_spawn(&p, -1, fds[1], err);
	close(fds[1]);
	ds_pipe_forget(fds[1]);
	buf = ds_xmalloc(cap);
	if (!rc) {
		for (;;) {
			ssize_t k;
			if (n + 1 >= cap)
				buf = ds_xrealloc(buf, cap *= 2);
			k = read(fds[0], buf + n, cap - n - 1);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			n += (size_t)k;
		}
		ds_proc_wait(&p);
		if (ds_proc_exit_code(&p, 0)) {
			char why[256];
			ds_proc_describe(&p, why, sizeof(why));
			rc = ds_error_set(err, ds_proc_exit_code(&p, 0), "tokenizing failed: %s", why);
		}
	}
	close(fds[0]);
	ds_pipe_forget(fds[0]);
	unlink(path);
	ds_proc_release(&p);
	buf[n] = 0;
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	if (outlen)
		*outlen = n;
	return 0;
}

int ds_tokproc_encode(const char *model, const char *const *args, const char *text, size_t len,
		      int32_t **ids, size_t *n, size_t *cap, struct ds_error *err)
{
	struct ds_reader r;
	struct ds_frame f;
	char *out;
	size_t outlen;
	FILE *fp;
	int rc;

	if ((rc = ds_tokproc_run(model, args, text, len, &out, &outlen, err)))
		return rc;
	if (!outlen) {		/* no frames (fmemopen refuses an empty buffer) */
		free(out);
		return 0;
	}
	fp = fmemopen(out, outlen, "rb");
	if (!fp) {
		free(out);
		return ds_error_set(err, EX_OSERR, "fmemopen: %s", strerror(errno));
	}
	ds_reader_init(&r, fp, "ds-tokenize output");
	ds_frame_init(&f);
	while ((rc = ds_read_frame(&r, &f, err)) == 1) {
		if (f.kind != DS_KIND_TOKENS || f.dtype != DS_I32)
			continue;
		size_t k = (size_t)ds_frame_numel(&f);
		if (*n + k > *cap) {
			*cap = (*n + k) * 2 + 16;
			*ids = ds_xrealloc(*ids, *cap * sizeof(**ids));
		}
		memcpy(*ids + *n, f.data, k * sizeof(int32_t));
		*n += k;
	}
	ds_frame_release(&f);
	fclose(fp);
	free(out);
	return rc < 0 || rc > 1 ? rc : 0;
}
