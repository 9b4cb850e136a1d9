/* fileio.c - see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"

int ds_read_file(const char *path, size_t max, int bad_code, char **buf, size_t *len, struct ds_error *err)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	size_t got = 0;

	*buf = NULL;
	if (fd < 0)
		return ds_error_set(err, errno == ENOENT || errno == ENOTDIR ? EX_NOINPUT : EX_IOERR,
				    "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ds_error_set(err, EX_NOINPUT, "'%s' is not a regular file", path);
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		return ds_error_set(err, bad_code, "%s: larger than %zu MiB", path, max >> 20);
	}
	*buf = ds_xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = errno;
			close(fd);
			free(*buf);
			*buf = NULL;
			return ds_error_set(err, EX_IOERR, "%s: read error: %s", path, r ? strerror(e) : "short read");
		}
		got += (size_t)r;
	}
	close(fd);
	(*buf)[got] = 0;
	if (len)
		*len = got;
	return 0;
}
