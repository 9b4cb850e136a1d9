/* cpufeat.c - see cpufeat.h. */
#include "cpufeat.h"

int ds_cpu_has_avx2(void)
{
#if defined(__x86_64__)
	static int have = -1;

	if (have < 0)
		have = __builtin_cpu_supports("avx2") ? 1 : 0;
	return have;
#else
	return 0;
#endif
}
