/*
 * tokenizer.h - DeepSeek's byte-level BPE tokenizer: text <-> token ids,
 * identical to Hugging Face `tokenizers` on the same tokenizer.json.
 *
 * What it owns: struct ds_tokenizer holds everything loaded from one
 * tokenizer.json (vocabulary, merge ranks, added tokens, the compiled
 * pre-tokenizer) plus a cache of pre-token -> ids.  It is created by
 * ds_tokenizer_load() and freed by ds_tokenizer_free(); every pointer it
 * hands out lives as long as it does.  Encoding writes to the cache, so one
 * tokenizer must not be used by two threads at once.  Running out of memory
 * exits the process (71, through cli.h's ds_x* allocators).
 *
 * What it implements of tokenizer.json (anything else is refused at load
 * with EX_CONFIG and a message naming the piece; nothing is guessed):
 *   normalizer      null, or a Sequence of none
 *   pre_tokenizer   Sequence of Split (Regex or String pattern, Isolated or
 *                   Removed, invert false), Digits, ByteLevel with
 *                   use_regex false and add_prefix_space false
 *   model           BPE without dropout, unk, prefixes/suffixes or byte
 *                   fallback; merges as "a b" strings or [a, b] pairs
 *   added_tokens    matched before pre-tokenisation, leftmost-longest, the
 *                   non-normalized ones first (lstrip/rstrip/single_word
 *                   are refused)
 *   decoder         ByteLevel
 * Split regexes run in PCRE2 (JIT) after a translation that makes them
 * behave like the reference's Oniguruma: Unicode classes \p{L,M,N,P,S}
 * get the code points Oniguruma's newer Unicode tables add (tok-unicode.c),
 * \s loses U+180E, and ^/$ match at line ends.
 *
 * Text given to the encoder must be valid UTF-8 (see utf8.h); the stream
 * encoder checks or repairs it.  Ids are int32.
 */
#ifndef DS_TOKENIZER_H
#define DS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct ds_tokenizer;

/* A growable array of ids; the owner frees v (free()).  Zero-initialise. */
struct ds_ids {
	int32_t *v;
	size_t n, cap;
};
void ds_ids_push(struct ds_ids *ids, int32_t id);
void ds_ids_release(struct ds_ids *ids);

/*
 * Load tokenizer.json.  Returns 0 with *out set, or fills err and returns
 * EX_NOINPUT (cannot open), EX_IOERR, or EX_CONFIG (malformed JSON, or a
 * piece this implementation does not support).  The message names the file.
 */
int ds_tokenizer_load(struct ds_tokenizer **out, const char *path, struct ds_error *err);
/* The same from tokenizer.json's text in memory (len bytes; text need not
 * be NUL-terminated); `name` stands for the file in messages. */
int ds_tokenizer_load_text(struct ds_tokenizer **out, const char *text, size_t len, const char *name,
			   struct ds_error *err);
void ds_tokenizer_free(struct ds_tokenizer *tok);

/* One more than the largest id the tokenizer knows (vocab and added). */
int32_t ds_tokenizer_n_ids(const struct ds_tokenizer *tok);

/* The bytes of token id (for added tokens their content), or NULL for an id
 * the tokenizer does not know.  *len gets the length. */
const uint8_t *ds_tokenizer_bytes(const struct ds_tokenizer *tok, int32_t id, size_t *len);

/* Whether id is an added token marked "special" in tokenizer.json (what
 * --skip-special drops). */
int ds_tokenizer_is_special(const struct ds_tokenizer *tok, int32_t id);

/* The id of the added token whose content is exactly s[0..len), or -1. */
int32_t ds_tokenizer_added_id(const struct ds_tokenizer *tok, const char *s, size_t len);

/* Longest added token, in bytes (what a chunked encoder must hold back). */
size_t ds_tokenizer_max_added_len(const struct ds_tokenizer *tok);

/*
 * Encode valid UTF-8 text[0..len) as one document and append its ids.
 * Added tokens written in the text are recognised.  No BOS is added.
 * Returns 0; EX_SOFTWARE only for a regex engine failure (err filled).
 */
int ds_tokenizer_encode(struct ds_tokenizer *tok, const char *text, size_t len,
			struct ds_ids *ids, struct ds_error *err);

/*
 * Encode text as ds_tokenizer_encode does, except that no added token is
 * recognised that starts or ends inside one of the byte ranges literal[i]
 * = [begin, end) (ascending, apart): text there is encoded as plain text,
 * so "<｜User｜>" typed by a user stays the letters it is made of.  Around
 * the ranges the text is split and pre-tokenised exactly as by
 * ds_tokenizer_encode (a range does not cut a pre-token of its own).
 */
int ds_tokenizer_encode_literal(struct ds_tokenizer *tok, const char *text, size_t len,
				const size_t (*literal)[2], size_t nliteral, struct ds_ids *ids,
				struct ds_error *err);

/*
 * Encode only a prefix of text: stop before the first pre-token that does
 * not end at or before `limit`, and return in *done the number of bytes
 * whose ids were appended (a pre-token boundary, 0 when none qualifies).
 * Boundaries far enough from the end of text are the boundaries of the whole
 * text, which is what lets ds_tok_stream encode chunk by chunk.
 */
int ds_tokenizer_encode_prefix(struct ds_tokenizer *tok, const char *text, size_t len,
			       size_t limit, size_t *done, struct ds_ids *ids,
			       struct ds_error *err);

/*
 * Incremental encoding of one document of any size in bounded memory.
 * Feed bytes as they arrive; ids that can no longer change are appended to
 * `ids` (the caller may empty it between calls).  The ids equal
 * ds_tokenizer_encode() of the whole text.  Memory stays near `chunk` bytes
 * unless a single pre-token is longer (a run of letters with no break).
 * Invalid UTF-8 fails with EX_DATAERR naming the byte offset in the document,
 * unless lossy is set: then it is repaired like Python's errors="replace".
 */
struct ds_tok_stream {
	struct ds_tokenizer *tok;
	int lossy;
	size_t chunk;		/* bytes encoded per step (default 1 MiB) */
	uint8_t *buf;		/* text not yet encoded (valid UTF-8) */
	size_t len, cap;
	size_t npend;		/* trailing bytes of an unfinished UTF-8 character */
	uint64_t in_off;	/* input offset of buf[0] (for error messages) */
	size_t retry_at;	/* do not try to cut before len reaches this */
};
void ds_tok_stream_init(struct ds_tok_stream *s, struct ds_tokenizer *tok, int lossy);
int ds_tok_stream_feed(struct ds_tok_stream *s, const void *data, size_t n,
		       struct ds_ids *ids, struct ds_error *err);
int ds_tok_stream_finish(struct ds_tok_stream *s, struct ds_ids *ids, struct ds_error *err);
void ds_tok_stream_release(struct ds_tok_stream *s);

/*
 * Streaming decoder: token ids in, bytes out, holding back the bytes of a
 * UTF-8 character that is not complete yet so nothing is written as half a
 * character.  Concatenating every output (including finish) gives exactly the
 * concatenation of the tokens' bytes, invalid sequences included.
 */
struct ds_tok_decoder {
	const struct ds_tokenizer *tok;
	int skip_special;
	uint8_t hold[4];
	size_t nhold;
	uint64_t unknown;	/* ids skipped because the tokenizer lacks them */
};
void ds_tok_decoder_init(struct ds_tok_decoder *d, const struct ds_tokenizer *tok, int skip_special);
/* Decode ids and write what is ready through put(data, len, ctx); returns
 * put's first nonzero result, else 0. */
int ds_tok_decoder_put(struct ds_tok_decoder *d, const int32_t *ids, size_t n,
		       int (*put)(const void *, size_t, void *), void *ctx);
int ds_tok_decoder_finish(struct ds_tok_decoder *d, int (*put)(const void *, size_t, void *), void *ctx);

/*
 * tokenizer_config.json: the few fields ds-tokenize needs.  Strings are
 * malloc'd and owned by the struct (ds_tok_config_release frees them).
 */
struct ds_tok_config {
	int add_bos;		/* -1 when the file does not say */
	char *bos_token;	/* content of bos_token, or NULL */
	char *eos_token;
	char *chat_template;	/* or NULL */
};
int ds_tok_config_load(struct ds_tok_config *cfg, const char *path, struct ds_error *err);
void ds_tok_config_release(struct ds_tok_config *cfg);

/*
 * The string member `key` of the JSON object text[0..len), unescaped into a
 * malloc'd buffer (*out, NUL-terminated, *outlen bytes; it may hold NUL
 * characters from \u0000, which cJSON cannot carry).  Returns 0, or
 * EX_DATAERR when the object is malformed or has no such string member.
 */
int ds_tok_json_member(const char *text, size_t len, const char *key, char **out, size_t *outlen,
		       struct ds_error *err);

/*
 * Where the tokenizer files are when no -t/-m is given: the directory
 * "../share/dspipe/deepseek-v3" next to the running executable (installed
 * layout), else "../share/deepseek-v3" (the repository's bin/ layout).
 * Writes the directory into out and returns 0, or returns -1.
 */
int ds_tok_default_dir(char *out, size_t outsz);

#endif
