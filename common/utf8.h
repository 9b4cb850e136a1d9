/*
 * utf8.h - UTF-8 checks and repairs for text that becomes token ids.
 *
 * Owns nothing: every function works on caller buffers.  "Valid" means
 * what Python's str.decode("utf-8") accepts: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF.  The lossy repair
 * replaces each maximal invalid subpart with U+FFFD exactly as Python's
 * errors="replace" does (the Unicode "maximal subpart" practice), so
 * `--lossy` ids equal the reference's ids for text.decode(errors="replace").
 */
#ifndef DS_UTF8_H
#define DS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid sequence starting at s[0] (1..4), or 0 when s[0..n)
 * does not start with a complete valid sequence.  When the bytes so far are
 * a valid but truncated prefix, *incomplete is set to 1 (else 0). */
size_t ds_utf8_seq(const uint8_t *s, size_t n, int *incomplete);

/* Offset of the first byte that does not belong to a valid sequence, or n
 * when all of s[0..n) is valid.  A truncated sequence at the very end counts
 * as invalid at its first byte. */
size_t ds_utf8_check(const uint8_t *s, size_t n);

/* Length of the longest prefix of s[0..n) that could still be completed
 * into valid UTF-8 by more bytes: n minus the length of a trailing valid
 * but unfinished sequence (0..3 bytes).  Used to hold bytes back between
 * reads and between decoded tokens. */
size_t ds_utf8_complete_prefix(const uint8_t *s, size_t n);

/* Copy s[0..n) into out, replacing each maximal invalid subpart with
 * U+FFFD (EF BF BD).  out must hold 3 * n bytes; returns the bytes written.
 * A truncated sequence at the end is replaced too (call it only on text that
 * is known to end there). */
size_t ds_utf8_repair(const uint8_t *s, size_t n, uint8_t *out);

/* Decode the code point of a valid sequence of length len (from
 * ds_utf8_seq). */
uint32_t ds_utf8_decode(const uint8_t *s, size_t len);
/* Encode cp (<= U+10FFFF, not a surrogate) into out[0..4); returns length. */
size_t ds_utf8_encode(uint32_t cp, uint8_t *out);

#endif
