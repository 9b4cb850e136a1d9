/*
 * test-safetensors.c - the safetensors parser on hand-built images (good
 * ones and one of each hostile kind), and checkpoint directories: single
 * file, sharded index, and every index and FP8-companion rule of
 * safetensors.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "safetensors.h"
#include "testhelp.h"

/* An image: u64 header length, the header, then `data` bytes of pattern. */
static uint8_t *image(const char *header, size_t hlen_claim, size_t data, size_t *size)
{
	size_t hl = strlen(header);
	uint8_t *p = malloc(8 + hl + data + 1);

	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(hlen_claim >> (8 * i));
	memcpy(p + 8, header, hl);
	for (size_t i = 0; i < data; i++)
		p[8 + hl + i] = (uint8_t)(i * 7 + 1);
	*size = 8 + hl + data;
	return p;
}

static int parse_img(const char *header, size_t data, struct ds_st_file *f, struct ds_error *err)
{
	size_t size;
	uint8_t *p = image(header, strlen(header), data, &size);
	int rc;

	memset(err, 0, sizeof(*err));
	rc = ds_st_parse(f, p, size, "img", err);
	if (!rc)
		ds_st_release(f);	/* f->mapped is 0: the buffer stays ours */
	free(p);
	return rc;
}

static void test_good(void)
{
	const char *hdr = "{\"__metadata__\": {\"format\": \"pt\"}, "
			  "\"b\": {\"dtype\": \"BF16\", \"shape\": [3], \"data_offsets\": [16, 22]}, "
			  "\"a\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]}, "
			  "\"e\": {\"dtype\": \"F8_E4M3\", \"shape\": [0, 5], \"data_offsets\": [22, 22]}, "
			  "\"s\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [22, 30]}}    ";
	struct ds_st_file f;
	struct ds_error err = { 0 };
	size_t size;
	uint8_t *p = image(hdr, strlen(hdr), 30, &size);
	int rc = ds_st_parse(&f, p, size, "good", &err);

	check("a valid image parses", rc == 0);
	if (rc) {
		printf("# %s\n", err.msg);
		free(p);
		return;
	}
	check("four tensors in header order", f.ntensors == 4 && !strcmp(f.tensors[0].name, "b") &&
	      !strcmp(f.tensors[1].name, "a") && !strcmp(f.tensors[3].name, "s"));
	check("dtype, shape and size", f.tensors[1].dtype == DS_F32 && f.tensors[1].ndim == 2 &&
	      f.tensors[1].shape[0] == 2 && f.tensors[1].nbytes == 16 && f.tensors[0].dtype == DS_BF16 &&
	      f.tensors[2].nbytes == 0 && f.tensors[3].ndim == 0 && f.tensors[3].nbytes == 8);
	check("views point into the buffer (zero-copy)",
	      f.tensors[1].data == p + 8 + strlen(hdr) && f.tensors[0].data == p + 8 + strlen(hdr) + 16 &&
	      f.tensors[0].offset == 8 + strlen(hdr) + 16);
	check("metadata strings", f.nmeta == 1 && !strcmp(f.meta_keys[0], "format") &&
	      !strcmp(f.meta_values[0], "pt"));
	check("not mapped", f.mapped == 0);
	ds_st_release(&f);
	free(p);
	check("an empty header {} parses", parse_img("{}", 0, &f, &err) == 0);
}

static void test_hostile(void)
{
	static const struct { const char *hdr; size_t data; const char *what, *msg; } bad[] = {
		{ "[]", 0, "header is a list", "not a JSON object" },
		{ "{abc", 0, "header is not JSON", "not a JSON object" },
		{ "{} x", 0, "junk after the object", "junk" },
		{ "{\"a\": 1}", 0, "entry is not an object", "not an object" },
		{ "{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "missing dtype", "missing dtype" },
		{ "{\"a\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "dtype not a string", "dtype" },
		{ "{\"a\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "unknown dtype", "unknown dtype 'Q4'" },
		{ "{\"a\": {\"dtype\": \"IDVAL\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8, "stream-only dtype", "unknown dtype" },
		{ "{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, "missing shape", "missing shape" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, "negative shape", "shape" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, "non-integer shape", "shape" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [\"1\"], \"data_offsets\": [0, 4]}}", 4, "string shape", "shape" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1e300], \"data_offsets\": [0, 4]}}", 4, "huge shape", "shape" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4], \"data_offsets\": [0, 4]}}", 4,
		  "overflowing shape", "overflows" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4,
		  "nine dimensions", "dimensions" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "missing offsets", "data_offsets" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, "one offset", "data_offsets" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, -4]}}", 4, "negative offset", "data_offsets" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 0]}}", 4, "reversed offsets", "reversed" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, "size mismatch", "needs 8" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4, "past the end", "past the data" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
		  "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12, "overlap", "overlaps" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
		  "\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12, "hole", "hole" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "hole at the start", "hole" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 9, "undescribed tail", "after the last" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
		  "\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "duplicate name", "duplicate" },
		{ "{\"__metadata__\": {\"n\": 3}}", 0, "non-string metadata", "not a string" },
		{ "{\"__metadata__\": [\"x\"]}", 0, "metadata not an object", "not an object" },
		{ "{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "two metadata", "two __metadata__" },
	};
	struct ds_st_file f;
	struct ds_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_img(bad[i].hdr, bad[i].data, &f, &err);
		checkf(rc == EX_DATAERR && strstr(err.msg, bad[i].msg) && strstr(err.msg, "img"),
		       "refused: %s", bad[i].what);
		if (rc != EX_DATAERR || !strstr(err.msg, bad[i].msg))
			printf("#   rc %d: %s\n", rc, err.msg);
	}

	/* length field problems */
	{
		size_t size;
		uint8_t *p = image("{}", 2, 0, &size);
		int rc;

		memset(&err, 0, sizeof(err));
		check("empty input refused", ds_st_parse(&f, p, 0, "img", &err) == EX_DATAERR &&
		      strstr(err.msg, "too short"));
		check("5 bytes refused", ds_st_parse(&f, p, 5, "img", &err) == EX_DATAERR);
		free(p);
		p = image("{}", 1000, 0, &size);
		rc = ds_st_parse(&f, p, size, "img", &err);
		check("header length past the end refused", rc == EX_DATAERR && strstr(err.msg, "past the end"));
		free(p);
		p = image("{}", (size_t)1 << 40, 0, &size);
		rc = ds_st_parse(&f, p, size, "img", &err);
		check("absurd header length refused", rc == EX_DATAERR && strstr(err.msg, "larger than"));
		free(p);
		p = image("{}", 0, 0, &size);
		rc = ds_st_parse(&f, p, size, "img", &err);
		check("zero header length refused", rc == EX_DATAERR);
		free(p);
		p = image("{\"a\": {}}", 9, 0, &size);
		p[12] = 0;
		rc = ds_st_parse(&f, p, size, "img", &err);
		check("NUL inside the header refused", rc == EX_DATAERR && strstr(err.msg, "NUL"));
		free(p);
	}
}

/* ---- checkpoint directories ---- */

static char dir[256];

static void write_file(const char *name, const void *data, size_t n)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(data, 1, n, fp) != n || fclose(fp)) {
		printf("not ok - cannot write %s\n", path);
		exit(1);
	}
}

static void write_st(const char *name, const char *hdr, size_t data)
{
	size_t size;
	uint8_t *p = image(hdr, strlen(hdr), data, &size);
	write_file(name, p, size);
	free(p);
}

static void write_text(const char *name, const char *text)
{
	write_file(name, text, strlen(text));
}

static void rm(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static int open_ck(const char *sub, struct ds_checkpoint *ck, struct ds_error *err)
{
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] ? "/" : "", sub);
	memset(err, 0, sizeof(*err));
	rc = ds_checkpoint_open(ck, path, err);
	return rc;
}

#define SHARD1 "{\"x.weight\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 12]}, " \
	       "\"y\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [12, 16]}}"
#define SHARD2 "{\"z\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, " \
	       "\"stray\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}"
#define INDEX(extra) "{\"metadata\": {\"total_size\": 24}, \"weight_map\": {\"x.weight\": \"a.safetensors\", " \
	"\"y\": \"a.safetensors\", \"z\": \"sub/b.safetensors\"" extra "}}"

static void test_checkpoints(void)
{
	struct ds_checkpoint ck;
	struct ds_error err;
	const struct ds_tensor_info *t;
	int rc;

	snprintf(dir, sizeof(dir), "%s/dstest-st-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		check("mkdtemp", 0);
		return;
	}
	{
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/sub", dir);
		mkdir(sub, 0755);
	}
	check("empty directory: EX_NOINPUT", open_ck("", &ck, &err) == EX_NOINPUT);
	check("missing path: EX_NOINPUT", open_ck("nope", &ck, &err) == EX_NOINPUT);

	write_st("a.safetensors", SHARD1, 16);
	write_st("sub/b.safetensors", SHARD2, 12);
	write_text("model.safetensors.index.json", INDEX(""));
	rc = open_ck("", &ck, &err);
	check("sharded checkpoint opens", rc == 0);
	if (rc)
		printf("# %s\n", err.msg);
	if (!rc) {
		check("three mapped tensors, stray one invisible", ck.ntensors == 3 && ck.nfiles == 2 &&
		      !ds_checkpoint_find(&ck, "stray"));
		t = ds_checkpoint_find(&ck, "z");
		check("find z in the second shard", t && t->file == 1 && t->nbytes == 8 &&
		      strstr(ck.files[t->file].path, "sub/b.safetensors"));
		t = ds_checkpoint_find(&ck, "x.weight");
		check("find x.weight", t && t->dtype == DS_BF16 && t->shape[1] == 3 && t->file == 0);
		check("absent name gives NULL", !ds_checkpoint_find(&ck, "w") && !ds_checkpoint_find(&ck, ""));
		check("sorted by name", !strcmp(ck.sorted[0]->name, "x.weight") && !strcmp(ck.sorted[2]->name, "z"));
		check("an index is the place in sorted, -1 when absent",
		      ds_checkpoint_index(&ck, "x.weight") == 0 && ds_checkpoint_index(&ck, "z") == 2 &&
		      ck.sorted[ds_checkpoint_index(&ck, "y")] == ds_checkpoint_find(&ck, "y") &&
		      ds_checkpoint_index(&ck, "w") == -1 && ds_checkpoint_index(&ck, "stray") == -1);
		check("aligned views", ds_st_aligned(ds_checkpoint_find(&ck, "y")) == (((8 + strlen(SHARD1) + 12) % 4) == 0));
		ds_checkpoint_release(&ck);
	}

	write_text("model.safetensors.index.json", INDEX(", \"w\": \"c.safetensors\""));
	rc = open_ck("", &ck, &err);
	check("index naming a missing shard: EX_NOINPUT", rc == EX_NOINPUT && strstr(err.msg, "c.safetensors"));
	write_text("model.safetensors.index.json", INDEX(", \"w\": \"../a.safetensors\""));
	check("shard path with ..: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR && strstr(err.msg, "inside"));
	write_text("model.safetensors.index.json", INDEX(", \"w\": \"/etc/passwd\""));
	check("absolute shard path: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR);
	write_text("model.safetensors.index.json", INDEX(", \"w\": \"\""));
	check("empty shard path: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR);
	write_text("model.safetensors.index.json", INDEX(", \"w\": \"a.safetensors\""));
	rc = open_ck("", &ck, &err);
	check("tensor absent from its shard: EX_DATAERR", rc == EX_DATAERR && strstr(err.msg, "'w'") &&
	      strstr(err.msg, "absent"));
	write_text("model.safetensors.index.json", INDEX(", \"z\": \"a.safetensors\""));
	check("tensor mapped twice: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR);
	write_text("model.safetensors.index.json", INDEX(", \"w\": 3"));
	check("non-string weight_map value: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR);
	write_text("model.safetensors.index.json", "{\"metadata\": {}}");
	check("index without weight_map: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR);
	write_text("model.safetensors.index.json", "{\"weight_map\": {}}");
	check("empty weight_map: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR);
	write_text("model.safetensors.index.json", "{\"weight_map\": {\"a\": \"b\"}");
	check("index not JSON: EX_DATAERR", open_ck("", &ck, &err) == EX_DATAERR);
	write_st("sub/b.safetensors", "{\"z\": 5}", 0);
	write_text("model.safetensors.index.json", INDEX(""));
	rc = open_ck("", &ck, &err);
	check("a broken shard is named", rc == EX_DATAERR && strstr(err.msg, "sub/b.safetensors"));
	rm("model.safetensors.index.json");

	/* single file; it wins over an index (HF's order) */
	write_st("model.safetensors", SHARD1, 16);
	write_text("model.safetensors.index.json", "broken");
	rc = open_ck("", &ck, &err);
	check("model.safetensors preferred over the index", rc == 0 && ck.ntensors == 2 && ck.nfiles == 1);
	if (!rc)
		ds_checkpoint_release(&ck);
	rc = open_ck("a.safetensors", &ck, &err);
	check("a path to one .safetensors file", rc == 0 && ck.ntensors == 2 && ds_checkpoint_find(&ck, "y") &&
	      !strcmp(ck.dir, dir));
	if (!rc)
		ds_checkpoint_release(&ck);

	/* FP8 companions: [200, 300] weight -> [2, 3] scales; sizes 60000 + 24 */
#define W8 "\"w.weight\": {\"dtype\": \"F8_E4M3\", \"shape\": [200, 300], \"data_offsets\": [24, 60024]}"
	write_st("model.safetensors", "{" W8 ", \"w.weight_scale_inv\": {\"dtype\": \"F32\", \"shape\": [2, 3], "
		 "\"data_offsets\": [0, 24]}}", 60024);
	rc = open_ck("", &ck, &err);
	check("FP8 weight with partial-block scales opens", rc == 0);
	if (rc)
		printf("# %s\n", err.msg);
	else
		ds_checkpoint_release(&ck);
	{
		char path[512];
		snprintf(path, sizeof(path), "%s", dir);
		memset(&err, 0, sizeof(err));
		rc = ds_checkpoint_open_block(&ck, path, 64, 64, &err);
		check("the same scales are wrong for 64x64 blocks", rc == EX_DATAERR && strstr(err.msg, "[4, 5]"));
	}
	write_st("model.safetensors", "{" W8 ", \"w.weight_scale_inv\": {\"dtype\": \"F32\", \"shape\": [3, 2], "
		 "\"data_offsets\": [0, 24]}}", 60024);
	check("mis-shaped scales refused", open_ck("", &ck, &err) == EX_DATAERR && strstr(err.msg, "_scale_inv"));
	write_st("model.safetensors", "{" W8 ", \"w.weight_scale_inv\": {\"dtype\": \"BF16\", \"shape\": [2, 6], "
		 "\"data_offsets\": [0, 24]}}", 60024);
	check("BF16 scales refused", open_ck("", &ck, &err) == EX_DATAERR);
	write_st("model.safetensors", "{" W8 ", \"other\": {\"dtype\": \"F32\", \"shape\": [2, 3], "
		 "\"data_offsets\": [0, 24]}}", 60024);
	check("FP8 without scales refused", open_ck("", &ck, &err) == EX_DATAERR && strstr(err.msg, "has no"));
	write_st("model.safetensors", "{\"v\": {\"dtype\": \"F8_E4M3\", \"shape\": [24], \"data_offsets\": [0, 24]}}", 24);
	check("1-D FP8 tensor refused", open_ck("", &ck, &err) == EX_DATAERR);
	write_file("model.safetensors", "", 0);
	check("empty model.safetensors refused", open_ck("", &ck, &err) == EX_DATAERR);

	rm("model.safetensors");
	rm("model.safetensors.index.json");
	rm("a.safetensors");
	rm("sub/b.safetensors");
	{
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/sub", dir);
		rmdir(sub);
	}
	rmdir(dir);
}

/* Run fn in a child with stderr in `errfile`; its wait status. */
static int in_child(void (*fn)(void *), void *arg, const char *errfile)
{
	int st = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (!freopen(errfile, "w", stderr))
			_exit(99);
		fn(arg);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

struct trunc_case {
	const char *path;
	const uint8_t *data;	/* a byte well past the cut */
	int own_map;		/* map the file here, not through ds_st_open */
};

static void read_after_cut(void *arg)
{
	struct trunc_case *tc = arg;
	volatile uint8_t v;

	if (truncate(tc->path, 100))
		_exit(98);
	if (tc->own_map) {
		int fd = open(tc->path, O_RDONLY);
		const uint8_t *m = fd < 0 ? NULL : mmap(NULL, 65536, PROT_READ, MAP_PRIVATE, fd, 0);
		if (!m || m == MAP_FAILED)
			_exit(97);
		v = m[40000];
	} else {
		v = *tc->data;
	}
	(void)v;
	_exit(0);
}

/* A mapped file truncated between open and use: the read that faults is
 * exit 74 with a message naming the file and the byte; a SIGBUS outside
 * every checkpoint still kills (or goes to the sanitizer's handler). */
static void test_truncated_mapping(void)
{
	char tdir[256], path[320], errfile[330], msg[512] = "", want[400];
	struct ds_st_file f;
	struct ds_error err = { 0 };
	struct trunc_case tc;
	size_t size;
	static const char hdr[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[16384],\"data_offsets\":[0,65536]}}";
	uint8_t *img = image(hdr, strlen(hdr), 65536, &size);
	FILE *fp;
	int st, rc;

	snprintf(tdir, sizeof(tdir), "%s/dstest-bus-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tdir)) {
		check("mkdtemp", 0);
		free(img);
		return;
	}
	snprintf(path, sizeof(path), "%s/m.safetensors", tdir);
	snprintf(errfile, sizeof(errfile), "%s/err", tdir);
	fp = fopen(path, "wb");
	rc = !fp || fwrite(img, 1, size, fp) != size || fclose(fp);
	free(img);
	rc = rc ? -1 : ds_st_open(&f, path, &err);
	check("a 64 KiB tensor opens", rc == 0);
	if (rc) {
		rmdir(tdir);
		return;
	}
	tc = (struct trunc_case){ path, (const uint8_t *)f.tensors[0].data + 60000, 0 };
	st = in_child(read_after_cut, &tc, errfile);
	fp = fopen(errfile, "r");
	if (fp) {
		if (!fgets(msg, sizeof(msg), fp))
			msg[0] = 0;
		msg[strcspn(msg, "\n")] = 0;
		fclose(fp);
	}
	snprintf(want, sizeof(want), "%s: cannot read byte %zu of the mapped file (%zu bytes when opened)", path,
		 (size_t)((const uint8_t *)tc.data - f.map), size);
	checkf(WIFEXITED(st) && WEXITSTATUS(st) == EX_IOERR,
	       "a read of the mapping after the file was truncated exits 74 (status 0x%x)", st);
	checkf(strstr(msg, want) != NULL, "... saying so, with the file and the byte (%.200s)", msg);
	ds_st_release(&f);

	tc = (struct trunc_case){ path, NULL, 1 };
	if ((fp = fopen(path, "wb")) != NULL) {
		for (int i = 0; i < 65536; i++)
			fputc(0, fp);
		fclose(fp);
	}
	st = in_child(read_after_cut, &tc, errfile);
	checkf((WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS) || (WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
							       WEXITSTATUS(st) != EX_IOERR && WEXITSTATUS(st) < 97),
	       "a SIGBUS in a mapping nobody registered is not taken for a checkpoint's (status 0x%x)", st);
	unlink(errfile);
	unlink(path);
	rmdir(tdir);
}

int main(void)
{
	test_good();
	test_hostile();
	test_checkpoints();
	test_truncated_mapping();
	return test_done();
}
