/* debstream.c - see include/xsysroot/debstream.h.
 *
 * The ring is NSLOT slots of SLOT bytes.  The writer (the transfer's
 * thread) fills the slot after the published ones and publishes it when
 * full (or at the end); the reader (the unpacking thread) hands libarchive
 * one published slot at a time and releases it at its next call, as
 * libarchive's read callback contract allows.  Copying the body once keeps
 * the transfer (and its TLS) running while the unpacker decompresses.
 */
#include "xsysroot/debstream.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsysroot/util.h"

#define NSLOT 4
#define SLOT (XS_DEBSTREAM_RING / NSLOT)

struct xs_debstream {
	struct xs_store *s;	/* borrowed */
	struct xs_limits lim;
	char *ring;		/* NSLOT * SLOT */

	/* Only the writer's thread starts, joins and resets the unpacking
	 * thread; m guards the fields below it, cv signals any change. */
	bool running;		/* th started and not yet joined */
	pthread_t th;
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool eof;		/* the writer published its last byte */
	bool cancel;		/* the reader's next call fails */
	bool done;		/* the unpacking returned (result, err, man) */
	bool holding;		/* the reader holds slot head */
	size_t head;		/* oldest published slot */
	size_t nfull;		/* published slots, the one held included */
	size_t fill;		/* bytes in the writer's slot, not yet published */
	size_t len[NSLOT];
	int result;
	struct xs_manifest man; /* the unpacking thread's until done */
	char err[1024];
};

/* The unpacker's source (deb.h), in the unpacking thread. */
static ssize_t ring_read(void *ud, const void **p)
{
	struct xs_debstream *d = ud;
	pthread_mutex_lock(&d->m);
	if (d->holding) {
		d->holding = false;
		d->head = (d->head + 1) % NSLOT;
		d->nfull--;
		pthread_cond_broadcast(&d->cv);
	}
	while (!d->cancel && !d->nfull && !d->eof)
		pthread_cond_wait(&d->cv, &d->m);
	ssize_t n = 0;
	if (d->cancel) {
		n = -ECANCELED;
	} else if (d->nfull) {
		d->holding = true;
		*p = d->ring + d->head * SLOT;
		n = (ssize_t)d->len[d->head];
	}
	pthread_mutex_unlock(&d->m);
	return n;
}

static void *unpack_thread(void *ud)
{
	struct xs_debstream *d = ud;
	char err[sizeof d->err] = "";
	int r = xs_deb_unpack_from(d->s, ring_read, d, &d->lim, &d->man, err, sizeof err);
	pthread_mutex_lock(&d->m);
	d->result = r;
	memcpy(d->err, err, sizeof err);
	d->done = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->m);
	return NULL;
}

static int start(struct xs_debstream *d)
{
	if (d->running)
		return 0;
	int e = pthread_create(&d->th, NULL, unpack_thread, d);
	if (e)
		return -ENOMEM; /* a resource of this host, not the mirror's doing */
	d->running = true;
	return 0;
}

/* Stop the unpacking and forget everything, ready to start from byte 0. */
static void stop(struct xs_debstream *d)
{
	if (d->running) {
		pthread_mutex_lock(&d->m);
		d->cancel = true;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->m);
		pthread_join(d->th, NULL);
		d->running = false;
	}
	xs_manifest_free(&d->man);
	d->eof = d->cancel = d->done = d->holding = false;
	d->head = d->nfull = d->fill = 0;
	d->result = 0;
	d->err[0] = 0;
}

/* A failure of this host's cache ends the transfer; any other waits for
 * the digest (debstream.h). */
static int local_failure(int r)
{
	return r == -ENOSPC || r == -EDQUOT || r == -EROFS || r == -ENOMEM ? r : 0;
}

/* Publish the writer's slot; under m, with a free slot. */
static void publish(struct xs_debstream *d)
{
	d->len[(d->head + d->nfull) % NSLOT] = d->fill;
	d->nfull++;
	d->fill = 0;
	pthread_cond_broadcast(&d->cv);
}

static int sink_write(const void *p, size_t n, void *ud)
{
	struct xs_debstream *d = ud;
	int r = n ? start(d) : 0;
	const char *b = p;
	pthread_mutex_lock(&d->m);
	while (r == 0 && n) {
		if (d->done) {
			r = local_failure(d->result); /* the rest is only digested */
			break;
		}
		if (d->nfull == NSLOT) {
			pthread_cond_wait(&d->cv, &d->m);
			continue;
		}
		/* the writer's slot is its own: the reader never looks past
		 * the published ones, and releasing one keeps head + nfull */
		size_t w = (d->head + d->nfull) % NSLOT;
		size_t k = n < SLOT - d->fill ? n : SLOT - d->fill;
		pthread_mutex_unlock(&d->m);
		memcpy(d->ring + w * SLOT + d->fill, b, k);
		pthread_mutex_lock(&d->m);
		d->fill += k;
		b += k;
		n -= k;
		if (d->fill == SLOT)
			publish(d);
	}
	pthread_mutex_unlock(&d->m);
	return r;
}

static int sink_reset(void *ud)
{
	stop(ud);
	return 0;
}

struct xs_http_sink xs_debstream_sink(struct xs_debstream *d)
{
	return (struct xs_http_sink){ sink_write, sink_reset, d };
}

struct xs_debstream *xs_debstream_new(struct xs_store *s, const struct xs_limits *lim)
{
	struct xs_debstream *d = xs_xcalloc(1, sizeof *d);
	d->s = s;
	if (lim)
		d->lim = *lim;
	else
		xs_limits_default(&d->lim);
	d->ring = xs_xmalloc(NSLOT * SLOT);
	pthread_mutex_init(&d->m, NULL);
	pthread_cond_init(&d->cv, NULL);
	return d;
}

int xs_debstream_finish(struct xs_debstream *d, struct xs_manifest *out, char *err,
			size_t errsz)
{
	memset(out, 0, sizeof *out);
	int r = start(d);
	if (r < 0) {
		snprintf(err, errsz, "cannot start the unpacking: %s", strerror(-r));
		return r;
	}
	pthread_mutex_lock(&d->m);
	while (d->fill && d->nfull == NSLOT && !d->done)
		pthread_cond_wait(&d->cv, &d->m);
	if (d->fill && !d->done)
		publish(d);
	d->eof = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->m);
	pthread_join(d->th, NULL);
	d->running = false;
	*out = d->man;
	memset(&d->man, 0, sizeof d->man);
	if (err && errsz)
		snprintf(err, errsz, "%s", d->err);
	return d->result;
}

void xs_debstream_free(struct xs_debstream *d)
{
	if (!d)
		return;
	stop(d);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->m);
	free(d->ring);
	free(d);
}
