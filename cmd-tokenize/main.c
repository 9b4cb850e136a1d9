/*
 * ds-tokenize - text -> DeepSeek token ids (TOKENS frames or text) and back,
 * identical to the reference tokenizer; chat messages -> the ids of the
 * model's own chat template.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tokenize.h"
#include "toolio.h"

static const char *const formats[] = { "frames", "text", NULL };
static const char *const templates[] = { "v3", "r1", NULL };

static struct tok_opts opt = { .bos = -1, .template_ = -1, .chunk = 1 << 20 };

static const struct ds_option options[] = {
	DS_OPT_STRING_("tokenizer", 't', &opt.tokenizer, "FILE", "tokenizer.json to use (tokenizer_config.json is not read)"),
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "model directory: DIR/tokenizer.json and DIR/tokenizer_config.json (default: the installed DeepSeek-V3 copy)"),
	DS_OPT_FLAG_("decode", 'd', &opt.decode, "decode: ids in, text out (streaming, token by token)"),
	DS_OPT_CHOICE_("format", 'f', &opt.format, "FMT", "ids as 'frames' (TOKENS, default) or 'text' (decimal ids, one sequence per line)", formats),
	DS_OPT_FLAG_("jsonl", 0, &opt.jsonl, "encode JSON lines: {\"text\": ...} in, one JSON array of ids out per line"),
	DS_OPT_FLAG_("bos", 0, &opt.bos, "add BOS before each text (--no-bos: never; default: add_bos_token of tokenizer_config.json)"),
	DS_OPT_FLAG_("lossy", 0, &opt.lossy, "replace invalid UTF-8 with U+FFFD (as Python's errors=\"replace\") instead of failing"),
	DS_OPT_FLAG_("skip-special", 0, &opt.skip_special, "decode: leave out added tokens marked special"),
	DS_OPT_FLAG_("chat", 0, &opt.chat, "encode a JSON array of chat messages through the model's chat template"),
	DS_OPT_FLAG_("generation-prompt", 0, &opt.generation_prompt, "chat: end with the assistant prompt (add_generation_prompt)"),
	DS_OPT_CHOICE_("template", 0, &opt.template_, "NAME", "chat: use the built-in v3 or r1 template instead of recognising chat_template", templates),
	DS_OPT_FLAG_("render", 0, &opt.render, "chat: print the rendered text instead of ids"),
	DS_OPT_FLAG_("literal-content", 0, &opt.literal_content, "chat: encode the messages' text literally, so special-token text in it stays plain text"),
	DS_OPT_INT_("chunk", 0, &opt.chunk, "BYTES", "encode long input in chunks of about BYTES (default 1048576; ids do not depend on it)", 64, 1 << 30),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-tokenize",
	"[-t FILE | -m DIR] [-f frames|text] [--bos | --no-bos] [--lossy] [FILE]\n"
	"[-t FILE | -m DIR] --jsonl [--bos | --no-bos] [--lossy] [FILE]\n"
	"[-t FILE | -m DIR] -d [-f frames|text] [--skip-special] [FILE]\n"
	"[-t FILE | -m DIR] --chat [--generation-prompt] [--template v3|r1] [--render | --literal-content] [FILE]",
	"Turn UTF-8 text into DeepSeek-V3 token ids (TOKENS frames by default) and back,\n"
	"exactly as the model's Hugging Face tokenizer does.  Input is FILE or standard\n"
	"input; the whole input is one text (encoded in bounded memory).",
	options,
};

static void check_options(void)
{
	int modes = opt.decode + opt.jsonl + opt.chat;

	if (modes > 1)
		ds_usage_error("-d, --jsonl and --chat exclude each other");
	if (opt.tokenizer && opt.model)
		ds_usage_error("-t and -m exclude each other");
	if ((opt.generation_prompt || opt.template_ >= 0 || opt.render || opt.literal_content) && !opt.chat)
		ds_usage_error("--generation-prompt, --template, --render and --literal-content apply to --chat");
	if (opt.render && opt.literal_content)
		ds_usage_error("--literal-content changes ids, not text: it does not go with --render");
	if (opt.chat && opt.bos >= 0)
		ds_usage_error("--chat: the template writes BOS itself; --bos/--no-bos do not apply");
	if (opt.skip_special && !opt.decode)
		ds_usage_error("--skip-special applies to -d");
	if (opt.decode && (opt.bos >= 0 || opt.lossy))
		ds_usage_error("--bos and --lossy apply to encoding");
}

/* Load the tokenizer (and tokenizer_config.json unless -t) and settle BOS
 * and the chat template. */
static void load(struct tok_job *j, struct ds_tok_config *cfg)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct ds_error err = { 0 };
	int want_bos;

	memset(cfg, 0, sizeof(*cfg));
	cfg->add_bos = -1;
	if (!opt.tokenizer) {
		if (opt.model)
			snprintf(dir, sizeof(dir), "%s", opt.model);
		else if (ds_tok_default_dir(dir, sizeof(dir)))
			ds_die(EX_NOINPUT, "no tokenizer found next to the executable; use -t FILE or -m DIR");
		snprintf(path, sizeof(path), "%s/tokenizer_config.json", dir);
		if (ds_tok_config_load(cfg, path, &err) && (opt.model || err.code != EX_NOINPUT))
			ds_die_error(&err);
		snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
	}
	if (ds_tokenizer_load(&j->tok, opt.tokenizer ? opt.tokenizer : path, &err))
		ds_die_error(&err);
	want_bos = opt.bos >= 0 ? opt.bos : cfg->add_bos > 0;
	j->bos_text = cfg->bos_token;
	j->bos_id = -1;
	if (want_bos) {
		const char *b = cfg->bos_token ? cfg->bos_token : "<｜begin▁of▁sentence｜>";
		j->bos_id = ds_tokenizer_added_id(j->tok, b, strlen(b));
		if (j->bos_id < 0)
			ds_die(EX_CONFIG, "BOS token '%s' is not an added token of the tokenizer", b);
	}
	j->tmpl = opt.template_ >= 0 ? (enum ds_chat_template)opt.template_ : ds_chat_identify(cfg->chat_template);
	if (opt.chat && j->tmpl == DS_CHAT_UNKNOWN)
		ds_die(EX_CONFIG, "%s; use --template v3|r1 to choose a built-in one",
		       cfg->chat_template ? "the chat_template of tokenizer_config.json is not one ds-tokenize knows"
					  : "no chat_template (tokenizer_config.json is read with -m or by default)");
}

int main(int argc, char **argv)
{
	struct ds_tok_config cfg;
	struct tok_job j = { .o = &opt };
	int npos = ds_cli_parse(&tool, argc, &argv);

	check_options();
	j.in = ds_tool_input(npos, argv, &j.in_name);
	if (opt.format == FMT_FRAMES && !opt.decode && !opt.jsonl && !opt.render)
		ds_refuse_binary_tty();
	load(&j, &cfg);
	if (opt.decode)
		tok_run_decode(&j);
	else if (opt.jsonl)
		tok_run_jsonl(&j);
	else if (opt.chat)
		tok_run_chat(&j);
	else
		tok_run_encode(&j);
	ds_tokenizer_free(j.tok);
	ds_tok_config_release(&cfg);
	ds_tool_finish(j.in);
	return 0;
}
