/*
 * mapguard.c - the SIGBUS handler for mapped checkpoints; see mapguard.h.
 *
 * The handler may run on any thread at any moment, so it only reads the
 * registry (atomic loads), formats its message by hand into a stack buffer
 * and calls write(2) and _exit(2), all async-signal-safe.
 */
#include "mapguard.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"

#define SLOTS 256

struct slot {
	_Atomic uintptr_t base;	/* 0: free */
	size_t size;
	char *path;
};

struct chunk {
	struct slot s[SLOTS];
	struct chunk *_Atomic next;
};

static struct chunk first;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int installed;
static struct sigaction previous;

/* ---- the handler ---- */

struct msg {
	char b[1024];
	size_t n;
};

static void put_s(struct msg *m, const char *s)
{
	while (*s && m->n < sizeof(m->b) - 1)
		m->b[m->n++] = *s++;
}

static void put_u(struct msg *m, uintptr_t v)
{
	char d[24];
	int k = 0;

	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < (int)sizeof(d));
	while (k && m->n < sizeof(m->b) - 1)
		m->b[m->n++] = d[--k];
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	for (struct chunk *c = &first; c; c = atomic_load(&c->next))
		for (int i = 0; i < SLOTS; i++) {
			uintptr_t b = atomic_load(&c->s[i].base);
			struct msg m = { .n = 0 };

			if (!b || a < b || a - b >= c->s[i].size)
				continue;
			put_s(&m, ds_progname ? ds_progname : "ds");
			put_s(&m, ": ");
			put_s(&m, c->s[i].path);
			put_s(&m, ": cannot read byte ");
			put_u(&m, a - b);
			put_s(&m, " of the mapped file (");
			put_u(&m, c->s[i].size);
			put_s(&m, " bytes when opened): it was truncated or could not be read\n");
			if (write(STDERR_FILENO, m.b, m.n) < 0) {
				/* nothing left to tell */
			}
			_exit(EX_IOERR);
		}
	/* not a checkpoint: whoever handled SIGBUS before, or a crash */
	if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
		previous.sa_sigaction(sig, si, uc);
		return;
	}
	if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	signal(SIGBUS, SIG_DFL);	/* returning re-runs the load, which now kills */
}

/* ---- the registry ---- */

static int install(struct ds_error *err)
{
	struct sigaction sa;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous))
		return ds_error_set(err, EX_OSERR, "cannot install the SIGBUS handler");
	installed = 1;
	return 0;
}

int ds_mapguard_add(const void *base, size_t size, const char *path, struct ds_error *err)
{
	struct chunk *c = &first, *last = NULL;
	char *copy;
	int rc;

	if (!base || !size)
		return 0;
	copy = strdup(path);
	if (!copy)
		return ds_error_set(err, EX_OSERR, "out of memory");
	pthread_mutex_lock(&lock);
	if ((rc = install(err))) {
		pthread_mutex_unlock(&lock);
		free(copy);
		return rc;
	}
	for (; c; last = c, c = atomic_load(&c->next))
		for (int i = 0; i < SLOTS; i++)
			if (!atomic_load(&c->s[i].base)) {
				c->s[i].size = size;
				c->s[i].path = copy;
				atomic_store(&c->s[i].base, (uintptr_t)base);	/* published last */
				pthread_mutex_unlock(&lock);
				return 0;
			}
	c = calloc(1, sizeof(*c));	/* never freed: the handler may walk it */
	if (!c) {
		pthread_mutex_unlock(&lock);
		free(copy);
		return ds_error_set(err, EX_OSERR, "out of memory");
	}
	c->s[0].size = size;
	c->s[0].path = copy;
	atomic_store(&c->s[0].base, (uintptr_t)base);
	atomic_store(&last->next, c);
	pthread_mutex_unlock(&lock);
	return 0;
}

void ds_mapguard_remove(const void *base)
{
	pthread_mutex_lock(&lock);
	for (struct chunk *c = &first; c; c = atomic_load(&c->next))
		for (int i = 0; i < SLOTS; i++)
			if (base && atomic_load(&c->s[i].base) == (uintptr_t)base) {
				atomic_store(&c->s[i].base, 0);
				free(c->s[i].path);
				c->s[i].path = NULL;
				pthread_mutex_unlock(&lock);
				return;
			}
	pthread_mutex_unlock(&lock);
}
