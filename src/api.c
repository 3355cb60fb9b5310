/* SPDX-License-Identifier: MIT */
/*
 * The public request accessors of sfcgi.h: params, the body and DATA
 * streams, the response (status, headers, stdout, stderr), finishing.
 * Each checks its handle (-EINVAL for a stale or foreign one) and works on
 * the request state machine and response writer of request.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "request.h"
#include "sfcgi.h"
#include "worker.h"

static struct request *running(struct sfcgi_request *o)
{
	if (!o || o->magic != REQ_MAGIC || o->r.phase != REQ_RUNNING)
		return NULL;
	return &o->r;
}

static const struct request *running_c(const struct sfcgi_request *o)
{
	return running((struct sfcgi_request *)o);
}

int sfcgi_role(const struct sfcgi_request *req)
{
	const struct request *r = running_c(req);

	return r ? r->role : -EINVAL;
}

int sfcgi_param_get(const struct sfcgi_request *req, const char *name, const char **ret_value,
		    size_t *ret_len)
{
	const struct request *r = running_c(req);

	if (!r || !name)
		return -EINVAL;
	return request_lookup(r, name, ret_value, ret_len);
}

const char *sfcgi_param(const struct sfcgi_request *req, const char *name)
{
	const char *v = NULL;

	return sfcgi_param_get(req, name, &v, NULL) == 0 ? v : NULL;
}

int sfcgi_param_next(const struct sfcgi_request *req, size_t *cursor, const char **ret_name,
		     const char **ret_value)
{
	const struct request *r = running_c(req);
	const char *base;

	if (!r || !cursor)
		return -EINVAL;
	if (*cursor >= r->nparams)
		return 0;
	base = (const char *)buf_head(&r->params);
	if (ret_name)
		*ret_name = base + r->ix[*cursor].name;
	if (ret_value)
		*ret_value = base + r->ix[*cursor].value;
	(*cursor)++;
	return 1;
}

static ssize_t stream_read(struct request *r, bool is_data, void *p, size_t len)
{
	struct buf *b = is_data ? &r->data : &r->body;
	struct spill *sp = is_data ? &r->data_sp : &r->body_sp;
	struct conn *c = r->c;

	if (len == 0) /* nothing asked for: nothing to wait for, nothing to report */
		return 0;
	for (;;) {
		/* An Authorizer gets no body (its input ends with PARAMS, as
		 * request_input_done() says): waiting for one would hold the
		 * request until read_timeout closes the connection. */
		bool done = is_data ? r->data_done : r->stdin_done || r->role == FCGI_AUTHORIZER;
		uint64_t total = is_data ? r->data_total : r->body_total;
		int k;

		if (buf_used(b)) {
			size_t n = buf_used(b) < len ? buf_used(b) : len;

			memcpy(p, buf_head(b), n);
			buf_consume(b, n);
			if (c->paused && buf_used(b) < c->w->set.read_ahead)
				conn_resume(c);
			return (ssize_t)n;
		}
		if (r->body_lost)
			return -EIO; /* answered 500: the body could not be kept */
		if (spill_used(sp)) /* older than anything still to come */
			return spill_get(c->w, is_data ? SPILL_DATA : SPILL_BODY, sp, p, len);
		if (total > c->w->set.max_stdin_bytes)
			return -EFBIG;
		if (done)
			return 0;
		if (r->aborted || c->dead)
			return -ECONNABORTED;
		if ((k = request_more_input(r)) < 0)
			return k;
	}
}

ssize_t sfcgi_read(struct sfcgi_request *req, void *buf, size_t len)
{
	struct request *r = running(req);

	if (!r || (!buf && len))
		return -EINVAL;
	if (r->skip_stdin)
		return 0;
	return stream_read(r, false, buf, len);
}

ssize_t sfcgi_read_data(struct sfcgi_request *req, void *buf, size_t len)
{
	struct request *r = running(req);

	if (!r || (!buf && len) || r->role != FCGI_FILTER)
		return -EINVAL;
	if (!r->skip_stdin) {
		/* DATA follows the body on the wire: what is left of it is dropped. */
		r->skip_stdin = true;
		buf_reset(&r->body, REQ_KEEP_BYTES);
		spill_drop(r->c->w, SPILL_BODY, &r->body_sp);
		if (r->c->paused)
			conn_resume(r->c);
	}
	return stream_read(r, true, buf, len);
}

int sfcgi_read_all(struct sfcgi_request *req, size_t max, char **ret_buf, size_t *ret_len)
{
	struct request *r = running(req);
	char *p = NULL;
	size_t len = 0, cap = 0;

	if (!r || !ret_buf)
		return -EINVAL;
	for (;;) {
		size_t room, left = max - len; /* len <= max here */
		ssize_t n;

		if (cap - len < 4096 + 1) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *np = realloc(p, ncap);

			if (!np) {
				free(p);
				return -ENOMEM;
			}
			p = np;
			cap = ncap;
		}
		/* One byte past max tells a longer body from one of max bytes;
		 * left + 1 would wrap for max == SIZE_MAX, hence left < room. */
		room = cap - len - 1;
		n = sfcgi_read(req, p + len, left < room ? left + 1 : room);
		if (n < 0) {
			free(p);
			return (int)n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(p);
			return -EFBIG;
		}
	}
	p[len] = 0;
	*ret_buf = p;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int sfcgi_set_status(struct sfcgi_request *req, int status)
{
	struct request *r = running(req);

	if (!r || status < 100 || status > 999)
		return -EINVAL;
	if (r->body_started)
		return -EALREADY;
	r->status = status;
	r->head_pending = true;
	return 0;
}

int sfcgi_add_header(struct sfcgi_request *req, const char *name, const char *value)
{
	struct request *r = running(req);

	if (!r || !name || !value || !*name || strpbrk(name, "\r\n: \t") || strpbrk(value, "\r\n"))
		return -EINVAL;
	if (r->body_started)
		return -EALREADY;
	if (buf_append(&r->head, name, strlen(name)) < 0 || buf_append(&r->head, ": ", 2) < 0 ||
	    buf_append(&r->head, value, strlen(value)) < 0 || buf_append(&r->head, "\r\n", 2) < 0)
		return -ENOMEM;
	r->head_pending = true;
	return 0;
}

ssize_t sfcgi_write(struct sfcgi_request *req, const void *buf, size_t len)
{
	struct request *r = running(req);
	int k;

	if (!r || (!buf && len) || len > SSIZE_MAX)
		return -EINVAL;
	k = request_out_write(r, FCGI_STDOUT, buf, len);
	return k < 0 ? k : (ssize_t)len;
}

ssize_t sfcgi_write_err(struct sfcgi_request *req, const void *buf, size_t len)
{
	struct request *r = running(req);
	int k;

	if (!r || (!buf && len) || len > SSIZE_MAX)
		return -EINVAL;
	k = request_out_write(r, FCGI_STDERR, buf, len);
	return k < 0 ? k : (ssize_t)len;
}

SFCGI_PRINTF(3, 0)
static int vprint(struct sfcgi_request *req, bool err, const char *fmt, va_list ap)
{
	char small[1024], *p = small;
	va_list copy;
	ssize_t k;
	int n;

	if (!running(req) || !fmt)
		return -EINVAL;
	va_copy(copy, ap);
	n = vsnprintf(small, sizeof small, fmt, copy);
	va_end(copy);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof small) {
		p = malloc((size_t)n + 1);
		if (!p)
			return -ENOMEM;
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	}
	k = err ? sfcgi_write_err(req, p, (size_t)n) : sfcgi_write(req, p, (size_t)n);
	if (p != small)
		free(p);
	return k < 0 ? (int)k : n;
}

int sfcgi_vprintf(struct sfcgi_request *req, const char *fmt, va_list ap)
{
	return vprint(req, false, fmt, ap);
}

int sfcgi_printf(struct sfcgi_request *req, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprint(req, false, fmt, ap);
	va_end(ap);
	return n;
}

int sfcgi_printf_err(struct sfcgi_request *req, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprint(req, true, fmt, ap);
	va_end(ap);
	return n;
}

int sfcgi_flush(struct sfcgi_request *req)
{
	struct request *r = running(req);
	int k;

	if (!r)
		return -EINVAL;
	if (r->aborted || r->c->dead)
		return -ECONNABORTED;
	if ((k = request_emit_head(r)) < 0)
		return k;
	return request_flush_until(r, 0);
}

int sfcgi_aborted(const struct sfcgi_request *req)
{
	const struct request *r = running_c(req);

	return r ? (r->aborted || r->c->dead) : -EINVAL;
}

int sfcgi_finish(struct sfcgi_request *req, int app_status)
{
	struct request *r = running(req);
	struct conn *c;
	int k = 0;

	if (!r)
		return -EINVAL;
	c = r->c;
	if (!r->aborted && !c->dead && request_emit_head(r) < 0)
		k = -ENOMEM;
	if (r->aborted || c->dead)
		k = -ECONNABORTED;
	c->running--;
	worker_request_done(c->w);
	request_end(r, (uint32_t)app_status, FCGI_REQUEST_COMPLETE);
	request_settle(r); /* r may be released here */
	if (c->dead)
		return k;
	conn_resume(c);
	if (conn_flush(c) < 0)
		return -ECONNABORTED;
	conn_update(c);
	return k;
}
