/*
 * clock.h - wall time for speed reports: seconds on the monotonic clock
 * (not affected by changes of the date), as a double.
 */
#ifndef DS_CLOCK_H
#define DS_CLOCK_H

double ds_seconds(void);

#endif
