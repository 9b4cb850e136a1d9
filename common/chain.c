/* chain.c - a pipeline of tool processes; see chain.h. */
#include "chain.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

void ds_chain_init(struct ds_chain *c)
{
	memset(c, 0, sizeof(*c));
}

struct ds_proc *ds_chain_add(struct ds_chain *c, const char *tool)
{
	struct ds_proc *p = &c->stage[c->n++];

	ds_proc_init(p, tool);
	return p;
}

int ds_chain_start(struct ds_chain *c, int read_output, struct ds_error *err)
{
	int first[2], link[2], prev_read;

	/* the driver must see EPIPE, not die, when a stage has gone */
	signal(SIGPIPE, SIG_IGN);
	if (ds_pipe(first))
		return ds_error_set(err, EX_OSERR, "cannot make a pipe: %s", strerror(errno));
	prev_read = first[0];
	for (int i = 0; i < c->n; i++) {
		int last = i == c->n - 1, out_fd = -1, rc;

		link[0] = link[1] = -1;
		if (!last || read_output) {
			if (ds_pipe(link))
				return ds_error_set(err, EX_OSERR, "cannot make a pipe: %s", strerror(errno));
			out_fd = link[1];
		}
		rc = ds_spawn(&c->stage[i], prev_read, out_fd, err);
		close(prev_read);
		ds_pipe_forget(prev_read);
		if (out_fd >= 0) {
			close(out_fd);
			ds_pipe_forget(out_fd);
		}
		if (rc)
			return rc;
		prev_read = link[0];
	}
	c->in = fdopen(first[1], "wb");
	ds_writer_init(&c->w, c->in, "ring input");
	if (read_output) {
		c->out = fdopen(prev_read, "rb");
		/* unbuffered: a frame read must never leave a later one in a
		 * buffer that poll() cannot see */
		setvbuf(c->out, NULL, _IONBF, 0);
		ds_reader_init(&c->r, c->out, "ring output");
	}
	return 0;
}

int ds_chain_send(struct ds_chain *c, const struct ds_frame *f, struct ds_error *err)
{
	if (!c->in)
		return ds_error_set(err, EX_SOFTWARE, "ring input already closed");
	return ds_write_frame(&c->w, f, err);
}

int ds_chain_recv(struct ds_chain *c, struct ds_frame *f, struct ds_error *err)
{
	return ds_read_frame(&c->r, f, err);
}

void ds_chain_close_input(struct ds_chain *c)
{
	if (c->in) {
		ds_pipe_forget(fileno(c->in));
		fclose(c->in);	/* an EPIPE on this last flush is not news */
		c->in = NULL;
	}
}

int ds_chain_finish(struct ds_chain *c, struct ds_error *err)
{
	int code = 0, blamed = -1;

	ds_chain_close_input(c);
	if (c->out) {
		/* read what is still on its way (frames in flight, CONTROL
		 * frames passing through) so no stage dies writing to us */
		char buf[1 << 14];
		ssize_t k;
		while ((k = read(fileno(c->out), buf, sizeof(buf))) != 0)
			if (k < 0 && errno != EINTR)
				break;
		ds_pipe_forget(fileno(c->out));
		fclose(c->out);
		c->out = NULL;
	}
	for (int i = 0; i < c->n; i++)
		ds_proc_wait(&c->stage[i]);
	/* the first stage that failed for a reason of its own: a SIGPIPE or
	 * an I/O error is what a stage gets when the one after it died */
	for (int pass = 0; pass < 2 && blamed < 0; pass++)
		for (int i = 0; i < c->n && blamed < 0; i++) {
			int st = c->stage[i].status;
			int sigpipe = WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE;
			int ioerr = WIFEXITED(st) && WEXITSTATUS(st) == EX_IOERR;
			if (ds_proc_exit_code(&c->stage[i], 1) == 0 && !sigpipe)
				continue;
			if (pass == 0 && (sigpipe || ioerr))
				continue;
			blamed = i;
		}
	if (blamed >= 0) {
		char why[256];
		ds_proc_describe(&c->stage[blamed], why, sizeof(why));
		code = ds_proc_exit_code(&c->stage[blamed], 0);
		ds_error_set(err, code ? code : EX_SOFTWARE, "stage %d of the ring failed: %s", blamed + 1, why);
		code = code ? code : EX_SOFTWARE;
	}
	return code;
}

void ds_chain_format(const struct ds_chain *c, char *out, size_t len)
{
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; i < c->n && n < len; i++) {
		if (i)
			n += snprintf(out + n, len - n, " | ");
		if (n < len)
			ds_proc_format(&c->stage[i], out + n, len - n);
		n = strlen(out);
	}
}

void ds_chain_release(struct ds_chain *c)
{
	for (int i = 0; i < c->n; i++)
		ds_proc_release(&c->stage[i]);
	c->n = 0;
}
