/*
 * utf8.c - UTF-8 validation and Python-compatible repair; see utf8.h.
 *
 * The table of legal second bytes follows the Unicode standard's
 * "well-formed UTF-8 byte sequences" table (E0 A0..BF, ED 80..9F,
 * F0 90..BF, F4 80..8F; other leads take 80..BF).
 */
#include "utf8.h"

/* Number of bytes a lead byte announces, 0 for a byte that cannot lead. */
static int lead_len(uint8_t b)
{
	if (b < 0x80)
		return 1;
	if (b < 0xC2)
		return 0;
	if (b < 0xE0)
		return 2;
	if (b < 0xF0)
		return 3;
	if (b < 0xF5)
		return 4;
	return 0;
}

static int second_ok(uint8_t lead, uint8_t b)
{
	switch (lead) {
	case 0xE0: return b >= 0xA0 && b <= 0xBF;
	case 0xED: return b >= 0x80 && b <= 0x9F;
	case 0xF0: return b >= 0x90 && b <= 0xBF;
	case 0xF4: return b >= 0x80 && b <= 0x8F;
	default: return b >= 0x80 && b <= 0xBF;
	}
}

/* How many bytes of s[0..n) form a valid prefix of the sequence that s[0]
 * starts (the "maximal subpart"), and the full length it needs. */
static size_t valid_prefix(const uint8_t *s, size_t n, int *need)
{
	int len = lead_len(s[0]);
	size_t i;

	*need = len;
	if (len <= 1)
		return (size_t)len;
	for (i = 1; i < (size_t)len && i < n; i++) {
		if (i == 1 ? !second_ok(s[0], s[1]) : (s[i] & 0xC0) != 0x80)
			break;
	}
	return i;
}

size_t ds_utf8_seq(const uint8_t *s, size_t n, int *incomplete)
{
	int need;
	size_t got;

	*incomplete = 0;
	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	got = valid_prefix(s, n, &need);
	if (need > 1 && got == (size_t)need)
		return got;
	if (need > 1 && got == n)
		*incomplete = 1;
	return 0;
}

size_t ds_utf8_check(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		int inc;
		size_t len;

		/* ASCII fast path, eight bytes at a time */
		while (i + 8 <= n) {
			uint64_t w;
			__builtin_memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		len = ds_utf8_seq(s + i, n - i, &inc);
		if (!len)
			return i;
		i += len;
	}
	return n;
}

size_t ds_utf8_complete_prefix(const uint8_t *s, size_t n)
{
	/* a trailing unfinished sequence is at most 3 bytes long */
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		uint8_t b = s[n - k];
		int inc;

		if ((b & 0xC0) == 0x80)
			continue;	/* continuation byte: look further back */
		if (lead_len(b) > 1 && !ds_utf8_seq(s + n - k, k, &inc) && inc)
			return n - k;
		return n;
	}
	return n;
}

size_t ds_utf8_repair(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		int need;
		size_t got;

		if (s[i] < 0x80) {
			out[o++] = s[i++];
			continue;
		}
		got = valid_prefix(s + i, n - i, &need);
		if (need > 1 && got == (size_t)need) {
			for (size_t k = 0; k < got; k++)
				out[o++] = s[i + k];
			i += got;
			continue;
		}
		/* one U+FFFD for the maximal subpart (at least the lead byte) */
		out[o++] = 0xEF;
		out[o++] = 0xBF;
		out[o++] = 0xBD;
		i += got ? got : 1;
	}
	return o;
}

uint32_t ds_utf8_decode(const uint8_t *s, size_t len)
{
	switch (len) {
	case 1: return s[0];
	case 2: return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
	case 3: return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
	default: return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
			(uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
	}
}

size_t ds_utf8_encode(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}
