/*
 * cpufeat.h - what the CPU can run, asked once: the check every file with
 * an AVX2 path makes before calling it.
 */
#ifndef DS_CPUFEAT_H
#define DS_CPUFEAT_H

/* 1 when AVX2 can be used (0 on other architectures). */
int ds_cpu_has_avx2(void);

#endif
