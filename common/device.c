/* device.c - device availability; see device.h. */
#include "device.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#ifdef DS_HAVE_CUDA
#include "cuda/cuda.h"
#endif

const char *const ds_device_names[] = { "cpu", "cuda", NULL };

int ds_device_check(enum ds_device_kind kind, struct ds_error *err)
{
	if (kind == DS_DEVICE_CPU)
		return 0;
#ifdef DS_HAVE_CUDA
	char why[256] = "";
	int n = ds_cuda_device_count(why, sizeof(why));
	if (n > 0)
		return 0;
	return ds_error_set(err, EX_UNAVAILABLE, "no usable CUDA device: %s",
			    n < 0 ? why : "the driver reports no GPU");
#else
	return ds_error_set(err, EX_UNAVAILABLE,
			    "this build has no CUDA backend (nvcc was not found when it was built; rebuild with CUDA=1)");
#endif
}

void ds_device_describe(enum ds_device_kind kind, char *out, size_t len)
{
	if (kind == DS_DEVICE_CUDA) {
#ifdef DS_HAVE_CUDA
		size_t mem = 0;
		if (ds_cuda_device_describe(0, out, len, &mem) == 0) {
			size_t k = strlen(out);
			snprintf(out + k, len - k, ", %.0f GiB", (double)mem / (1 << 30));
			return;
		}
#endif
		snprintf(out, len, "cuda (unavailable)");
		return;
	}
	FILE *fp = fopen("/proc/cpuinfo", "r");
	char line[256];
	int ncpu = 0;
	snprintf(out, len, "cpu");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "processor", 9))
			ncpu++;
		else if (ncpu == 1 && !strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			if (c) {
				c += 2;
				c[strcspn(c, "\n")] = 0;
				snprintf(out, len, "%s", c);
			}
		}
	}
	fclose(fp);
	size_t k = strlen(out);
	snprintf(out + k, len - k, ", %d threads", ncpu);
}
