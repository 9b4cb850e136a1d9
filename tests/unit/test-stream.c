/* test-stream.c - frame encoding, digests, hostile headers, and the scalar
 * conversions in tensor.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "stream.h"
#include "tensor.h"
#include "testhelp.h"

static char *buf;
static size_t buflen;

static FILE *reopen_for_read(void)
{
	return fmemopen(buf, buflen, "rb");
}

static void test_roundtrip(void)
{
	FILE *w = open_memstream(&buf, &buflen);
	struct ds_writer wr;
	struct ds_frame f, g;
	struct ds_error err = { 0 };
	uint32_t dims[2] = { 3, 5 };
	int rc;

	ds_frame_init(&f);
	ds_frame_init(&g);
	ds_writer_init(&wr, w, "mem");
	check("setup f32 [3,5]", ds_frame_setup(&f, DS_KIND_HIDDEN, DS_F32, 2, dims) == 0);
	for (int i = 0; i < 15; i++)
		((float *)f.data)[i] = (float)i * 0.25f - 1.0f;
	f.seq = 7;
	f.pos = 123456789012ULL;
	f.aux = 4;
	check("write frame 0", ds_write_frame(&wr, &f, &err) == 0);
	f.kind = (enum ds_kind)99;	/* unknown kinds must travel */
	check("write unknown kind", ds_write_frame(&wr, &f, &err) == 0);
	ds_frame_control(&f, DS_CONTROL_END, 7);
	check("write control", ds_write_frame(&wr, &f, &err) == 0);
	wr.digest = 0;
	dims[0] = 0;
	ds_frame_setup(&f, DS_KIND_TOKENS, DS_I32, 1, dims);
	check("write empty tokens without digest", ds_write_frame(&wr, &f, &err) == 0);
	fclose(w);
	check("stream size", buflen == (64 + 60 + 32) * 2 + (64 + 32) + 64);

	FILE *r = reopen_for_read();
	struct ds_reader rd;
	ds_reader_init(&rd, r, "mem");
	rc = ds_read_frame(&rd, &g, &err);
	check("read frame 0", rc == 1);
	check("frame 0 fields", g.kind == DS_KIND_HIDDEN && g.dtype == DS_F32 && g.ndim == 2 &&
	      g.shape[0] == 3 && g.shape[1] == 5 && g.seq == 7 && g.pos == 123456789012ULL &&
	      g.aux == 4 && (g.flags & DS_FLAG_DIGEST));
	check("frame 0 payload", g.nbytes == 60 && ((float *)g.data)[14] == 14 * 0.25f - 1.0f);
	check("read unknown kind", ds_read_frame(&rd, &g, &err) == 1 && g.kind == 99);
	check("read control", ds_read_frame(&rd, &g, &err) == 1 && g.kind == DS_KIND_CONTROL &&
	      g.aux == DS_CONTROL_END && g.nbytes == 0);
	check("read empty tokens", ds_read_frame(&rd, &g, &err) == 1 && g.nbytes == 0 &&
	      !(g.flags & DS_FLAG_DIGEST));
	check("clean end", ds_read_frame(&rd, &g, &err) == 0);
	fclose(r);

	/* flip one payload byte of frame 1: its digest must fail, naming it */
	buf[(64 + 60 + 32) + 64 + 10] ^= 1;
	r = reopen_for_read();
	ds_reader_init(&rd, r, "mem");
	check("frame 0 still fine", ds_read_frame(&rd, &g, &err) == 1);
	rc = ds_read_frame(&rd, &g, &err);
	check("digest mismatch is a data error", rc == EX_DATAERR);
	check("message names frame 1", strstr(err.msg, "frame 1") && strstr(err.msg, "digest"));
	fclose(r);
	buf[(64 + 60 + 32) + 64 + 10] ^= 1;

	/* truncations at every length inside frame 0 */
	int all_65 = 1;
	for (size_t cut = 1; cut < 64 + 60 + 32; cut++) {
		r = fmemopen(buf, cut, "rb");
		ds_reader_init(&rd, r, "mem");
		if (ds_read_frame(&rd, &g, &err) != EX_DATAERR)
			all_65 = 0;
		fclose(r);
	}
	check("every truncation of a frame is a data error", all_65);
	ds_frame_release(&f);
	ds_frame_release(&g);
}

static int decode_code(uint8_t *h)
{
	struct ds_frame f;
	struct ds_error err = { 0 };
	ds_frame_init(&f);
	return ds_header_decode(&f, h, &err);
}

static void test_hostile_headers(void)
{
	struct ds_frame f;
	uint8_t h[64], bad[64];
	uint32_t dims[2] = { 2, 3 };

	ds_frame_init(&f);
	ds_frame_setup(&f, DS_KIND_LOGITS, DS_F32, 2, dims);
	ds_header_encode(&f, h);
	check("good header decodes", decode_code(h) == 0);
#define MUTATE(desc, stmt) do { memcpy(bad, h, 64); stmt; check(desc, decode_code(bad) == EX_DATAERR); } while (0)
	MUTATE("bad magic", bad[0] = 'X');
	MUTATE("bad version", bad[4] = 2);
	MUTATE("kind 0", bad[6] = 0);
	MUTATE("dtype 0", bad[7] = 0);
	MUTATE("dtype 200", bad[7] = 200);
	MUTATE("ndim 5", bad[10] = 5);
	MUTATE("reserved byte", bad[11] = 1);
	MUTATE("reserved tail", bad[60] = 1);
	MUTATE("dim beyond ndim", bad[24] = 1);
	MUTATE("nbytes mismatch", bad[48] ^= 4);
	MUTATE("huge shape", (bad[16] = 0xff, bad[17] = 0xff, bad[18] = 0xff, bad[19] = 0xff,
			      bad[20] = 0xff, bad[21] = 0xff, bad[22] = 0xff, bad[23] = 0xff));
#undef MUTATE
	ds_frame_release(&f);
}

static void test_conversions(void)
{
	int ok = 1;

	for (int b = 0; b < 256; b++) {
		float v = ds_fp8_e4m3_to_f32((uint8_t)b);
		if (isnan(v))
			continue;
		if (ds_f32_to_fp8_e4m3(v) != b)
			ok = 0;
	}
	check("fp8 e4m3: every finite byte round-trips", ok);
	check("fp8 e4m3: 0x7e is 448, 0x7f NaN", ds_fp8_e4m3_to_f32(0x7e) == 448.0f && isnan(ds_fp8_e4m3_to_f32(0x7f)));
	check("fp8 e4m3: smallest subnormal 2^-9", ds_fp8_e4m3_to_f32(1) == ldexpf(1, -9));
	check("fp8 e4m3: saturates", ds_f32_to_fp8_e4m3(1e6f) == 0x7e && ds_f32_to_fp8_e4m3(-1e6f) == 0xfe);
	/* ties to even: 1 + 1/16 is halfway between 1 and 1.125 */
	check("fp8 e4m3: ties to even", ds_f32_to_fp8_e4m3(1.0625f) == 0x38 && ds_f32_to_fp8_e4m3(1.1875f) == 0x3a);
	ok = 1;
	for (uint32_t h = 0; h < 65536; h++) {
		float v = ds_f16_to_f32((uint16_t)h);
		if (!isnan(v) && ds_f32_to_f16(v) != h)
			ok = 0;
	}
	check("f16: every non-NaN value round-trips", ok);
	check("f16: 65520 rounds to inf", ds_f32_to_f16(65520.0f) == 0x7c00);
	ok = 1;
	for (uint32_t h = 0; h < 65536; h++) {
		float v = ds_bf16_to_f32((uint16_t)h);
		if (!isnan(v) && ds_f32_to_bf16(v) != h)
			ok = 0;
	}
	check("bf16: every non-NaN value round-trips", ok);
	check("bf16: ties to even", ds_f32_to_bf16(ds_bits_f32(0x3f808000u)) == 0x3f80 &&
	      ds_f32_to_bf16(ds_bits_f32(0x3f818000u)) == 0x3f82);
	check("dtype names", ds_dtype_parse("F8_E4M3") == DS_F8_E4M3 && ds_dtype_parse("bf16") == DS_BF16 &&
	      ds_dtype_parse("F4") == DS_DT_INVALID);
}

/* A frame written in parts is the frame ds_write_frame writes. */
static void test_parts(void)
{
	char *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	FILE *fa = open_memstream(&a, &na), *fb = open_memstream(&b, &nb);
	struct ds_writer wa, wb;
	struct ds_frame f;
	struct ds_error err = { 0 };
	uint32_t dims[2] = { 7, 3 };
	int ok = 1;

	ds_frame_init(&f);
	ds_frame_setup(&f, DS_KIND_HIDDEN, DS_F32, 2, dims);
	for (int i = 0; i < 21; i++)
		((float *)f.data)[i] = (float)i / 3;
	f.seq = 3;
	f.pos = 9;
	f.flags = DS_FLAG_FINAL;
	for (int digest = 0; digest < 2; digest++) {
		ds_writer_init(&wa, fa, "a");
		ds_writer_init(&wb, fb, "b");
		wa.digest = wb.digest = digest;
		ok &= ds_write_frame(&wa, &f, &err) == 0;
		ok &= ds_write_frame_begin(&wb, &f, &err) == 0;
		for (int r = 0; r < 7; r += 3)	/* rows 0-2, 3-5, 6 */
			ok &= ds_write_frame_part(&wb, (float *)f.data + 3 * r, (size_t)(r < 6 ? 9 : 3) * sizeof(float), &err) == 0;
		ok &= ds_write_frame_end(&wb, &err) == 0 && wb.index == 1;
	}
	fflush(fa);
	fflush(fb);
	check("a frame written in three parts equals it written whole, with and without digest",
	      ok && na == nb && !memcmp(a, b, na));
	ds_writer_init(&wb, fb, "b");
	ds_write_frame_begin(&wb, &f, &err);
	check("parts adding up to more than the frame are refused",
	      ds_write_frame_part(&wb, f.data, f.nbytes + 4, &err) == EX_SOFTWARE);
	check("... and ending short of it too", ds_write_frame_end(&wb, &err) == EX_SOFTWARE);
	fclose(fa);
	fclose(fb);
	free(a);
	free(b);
	ds_frame_release(&f);
}

static int admit_calls;
static int refuse_big(void *ctx, const struct ds_frame *f, struct ds_error *err)
{
	admit_calls++;
	return f->nbytes > *(size_t *)ctx ? ds_error_set(err, EX_DATAERR, "%zu bytes is too many", f->nbytes) : 0;
}

/* The admit hook sees the header and can refuse before the payload is
 * read: the frame's buffer is never grown for it. */
static void test_admit(void)
{
	char *m = NULL;
	size_t n = 0, limit = 64;
	FILE *w = open_memstream(&m, &n), *r;
	struct ds_writer wr;
	struct ds_reader rd;
	struct ds_frame f, g;
	struct ds_error err = { 0 };
	uint32_t small = 4, big = 4096;
	int rc1, rc2;

	ds_frame_init(&f);
	ds_frame_init(&g);
	ds_writer_init(&wr, w, "mem");
	ds_frame_setup(&f, DS_KIND_TOKENS, DS_I32, 1, &small);
	memset(f.data, 0, f.nbytes);
	ds_write_frame(&wr, &f, &err);
	ds_frame_setup(&f, DS_KIND_TOKENS, DS_I32, 1, &big);
	memset(f.data, 0, f.nbytes);
	ds_write_frame(&wr, &f, &err);
	fclose(w);
	r = fmemopen(m, n, "rb");
	ds_reader_init(&rd, r, "mem");
	rd.admit = refuse_big;
	rd.admit_ctx = &limit;
	rc1 = ds_read_frame(&rd, &g, &err);
	rc2 = ds_read_frame(&rd, &g, &err);
	check("admit: a small frame passes", rc1 == 1 && admit_calls == 2);
	checkf(rc2 == EX_DATAERR && !strcmp(err.msg, "mem: frame 1: 16384 bytes is too many"),
	       "admit: the large one is refused with the hook's message, named (%s)", err.msg);
	check("admit: ... before its payload was given room", g.cap < 16384);
	fclose(r);
	free(m);
	ds_frame_release(&f);
	ds_frame_release(&g);
}

int main(void)
{
	test_roundtrip();
	test_hostile_headers();
	test_conversions();
	test_parts();
	test_admit();
	free(buf);
	return test_done();
}
