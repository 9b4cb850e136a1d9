/*
 * textio.h - frames as text for people, and token ids as text.
 *
 * The text view (`ds-cat -f text`) is one header line per frame followed by
 * its values, one row per line; floats are printed with 9 significant digits
 * so an f32 value reads back exactly.  Token ids as text are decimal numbers
 * separated by blanks, one sequence per line - the form `ds-tokenize -f text`
 * writes and `ds-cat --from-ids` reads.
 */
#ifndef DS_TEXTIO_H
#define DS_TEXTIO_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "stream.h"

/* "frame N: KIND dtype [d0, d1] seq S pos P aux A flags ..." (no newline). */
void ds_frame_describe(FILE *fp, uint64_t index, const struct ds_frame *f);
/* The header line, then the values; at most max_cols values per row when
 * max_cols > 0 (the rest shown as "... (N more)"). */
void ds_frame_print_text(FILE *fp, uint64_t index, const struct ds_frame *f, long max_cols);

/*
 * Parse one line of decimal ids into a growing array.  (*ids, *cap) are the
 * caller's buffer (realloc'd as needed, caller frees).  Returns the count,
 * or -1 with err filled (EX_DATAERR) naming the column of the bad text.
 * Ids must lie in [0, INT32_MAX].
 */
long ds_ids_parse_line(const char *line, int32_t **ids, size_t *cap, struct ds_error *err);
/*
 * Parse one line of numbers (as strtof reads them, including "inf", "-inf"
 * and "nan", the spellings the text view prints) into a growing f32 array,
 * like ds_ids_parse_line.  Returns the count or -1 with err filled.
 */
long ds_floats_parse_line(const char *line, float **vals, size_t *cap, struct ds_error *err);
/*
 * Read the next paragraph of number rows (lines up to an empty line or the
 * end of input; leading empty lines are skipped) into the caller's growing
 * buffer (*vals, *cap), row after row.  Returns the row count (0 at the end
 * of input) with *cols the row length, or -1 with err filled (a bad number,
 * rows of different lengths, a row too long).  *lineno counts the lines
 * read, for messages.  The text view's `ds-cat --from-text`.
 */
long ds_rows_read(FILE *in, float **vals, size_t *cap, long *cols, long *lineno,
		  struct ds_error *err);
/* Print ids separated by single spaces and a final newline. */
void ds_ids_print(FILE *fp, const int32_t *ids, size_t n);

#endif
