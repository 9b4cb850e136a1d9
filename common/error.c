/* error.c - filling struct ds_error; see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Control characters (C0 and DEL) in msg as \xHH: a message is one line,
 * and a name quoted from a hostile file must not reach a terminal raw. */
static void tame(char *msg, size_t cap)
{
	char out[sizeof(((struct ds_error *)0)->msg)];
	size_t n = 0;

	if (!strpbrk(msg, "\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020"
			  "\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037\177"))
		return;
	for (const unsigned char *s = (const unsigned char *)msg; *s && n + 5 < sizeof(out); s++) {
		if (*s < 0x20 || *s == 0x7F)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", *s);
		else
			out[n++] = (char)*s;
	}
	out[n] = 0;
	snprintf(msg, cap, "%s", out);
}

int ds_error_set(struct ds_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		tame(err->msg, sizeof(err->msg));
		err->code = code;
	}
	return code;
}

int ds_error_prefix(struct ds_error *err, const char *fmt, ...)
{
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	tame(err->msg, sizeof(err->msg));
	return err->code;
}
