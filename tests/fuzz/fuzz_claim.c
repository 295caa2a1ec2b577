/*
 * libFuzzer target for the task-file model and the claim engine.
 *
 * Input: 4 control bytes (worker id, position, finished line, status), then
 * a task file.  For each input it runs register, next (finish + claim) and
 * reset, and checks properties, not just "no crash":
 *
 *  - next changes at most the finished and the claimed line, and adds only
 *    lines at the end (an orphan report); no line is lost or duplicated;
 *  - the claimed line reads back as running, by this worker, with the text
 *    that was handed out;
 *  - reset(next(f)) == reset(f) and reset(register(f)) == reset(f): what a
 *    worker did never changes the file as the user wrote it;
 *  - reset is idempotent.
 *
 * The same bytes are also read as a request line of a serve session and
 * as a reply: a request that decodes must encode back to a line that
 * decodes to the same request (decode(encode(x)) == x), and a reply that
 * decodes must encode and decode again to the same kind and items.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"

#define NOW	"11-24 08:00:00"

static void
apply(const struct tf_file *f, const struct patch *p, struct buf *out)
{
	buf_reset(out);
	if (patch_apply(p, f->buf, f->size, out) == -1 || buf_grow(out, 0))
		abort();
}

/* reset(buf) into out; returns 0, or -1 when buf has a NUL or bad tag */
static int
reset_of(const char *s, size_t n, struct buf *out)
{
	struct tf_file	 f;
	struct patch	 p = PATCH_INIT;
	char		 err[256];
	int		 r = -1;

	if (tf_split(&f, s, n, err, sizeof(err)) == -1)
		return -1;
	if (claim_reset(&f, 0, 0, &p, err, sizeof(err)) >= 0) {
		apply(&f, &p, out);
		r = 0;
	}
	patch_free(&p);
	tf_free(&f);
	return r;
}

/*
 * a == b, except that b may end with a line break a lacks: appending a
 * line to a file without a final newline has to add one.
 */
static void
same(const struct buf *a, const struct buf *b, const char *what)
{
	size_t	 n = b->len;

	if (n == a->len + 1 && b->s[n - 1] == '\n')
		n--;
	else if (n == a->len + 2 && memcmp(b->s + n - 2, "\r\n", 2) == 0)
		n -= 2;
	if (a->len != n || memcmp(a->s, b->s, n) != 0) {
		fprintf(stderr, "property failed: %s\n--- one:\n%.*s\n--- "
		    "other:\n%.*s\n", what, (int)a->len, a->s, (int)b->len,
		    b->s);
		abort();
	}
}

static int
same_s(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The bytes as a serve request line and as a reply. */
static void
fuzz_proto(const uint8_t *data, size_t size)
{
	struct proto_req	 q, d;
	struct proto_reply	 r, e;
	struct buf		 in = BUF_INIT, out = BUF_INIT;
	const char		*msg;
	int			 i;

	if (buf_add(&in, data, size) == -1)
		abort();
	if (proto_decode_line(&q, in.s, in.len, &msg) == 0) {
		if (proto_encode_line(&q, &out) == -1)
			abort();
		out.s[--out.len] = '\0';
		if (proto_decode_line(&d, out.s, out.len, &msg) == -1 ||
		    d.op != q.op || d.worker != q.worker || d.seq != q.seq ||
		    d.pos != q.pos || d.has_item != q.has_item ||
		    d.item.line != q.item.line ||
		    d.item.status != q.item.status ||
		    !same_s(d.item.text, q.item.text) ||
		    !same_s(d.item.log, q.item.log) || d.lease != q.lease ||
		    d.from != q.from || d.failed != q.failed) {
			fprintf(stderr, "request does not round-trip: %s\n",
			    out.s);
			abort();
		}
	}
	buf_reset(&in);
	buf_reset(&out);
	if (buf_add(&in, data, size) == -1)
		abort();
	if (proto_decode_reply(in.s, in.len, &r) == 0 &&
	    proto_encode_reply(&r, &out) == 0) {
		if (proto_decode_reply(out.s, out.len, &e) == -1 ||
		    e.kind != r.kind || e.nitems != r.nitems)
			abort();
		for (i = 0; i < r.nitems; i++)
			if (e.item[i].line != r.item[i].line ||
			    e.textlen[i] != r.textlen[i] ||
			    memcmp(e.item[i].text, r.item[i].text,
			    r.textlen[i]) != 0)
				abort();
	}
	buf_free(&in);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Kill, pause and tally on f (whose reset is r0): a kill changes nothing
 * a reset does not undo; resume(pause(f)) == f when f has no #PAUSED
 * line; a tally counts each task once.
 */
static void
fuzz_limits(const struct tf_file *f, const uint8_t *data, const struct buf *r0)
{
	struct patch	 p = PATCH_INIT;
	struct buf	 out = BUF_INIT, out2 = BUF_INIT, rep = BUF_INIT, r = BUF_INIT;
	struct tf_file	 g;
	struct proto_tally t;
	size_t		 line = f->nline > 0 ? data[2] % f->nline + 1 : 1;
	long		 w[1], live[2] = { 1, 2 };
	char		 err[256];
	int		 paused = 0;

	if (claim_kill(f, &line, 1, NOW, &p, w, &rep, err, sizeof(err)) == 0) {
		apply(f, &p, &out);
		if (reset_of(out.s, out.len, &r) == -1)
			abort();
		same(r0, &r, "reset(kill(f)) == reset(f)");
	}
	patch_reset(&p);
	if (claim_tally(f, live, data[1] % 3, &t, NULL, NULL) == -1)
		abort();
	if ((size_t)(t.done + t.failed + t.killed + t.blocked + t.retry +
	    t.pending + t.running) > f->nline)
		abort();
	paused = t.paused != 0;
	if (!paused && claim_pause(f, 1, NOW, &p, &rep, err, sizeof(err)) == 0) {
		apply(f, &p, &out);
		if (tf_split(&g, out.s, out.len, err, sizeof(err)) == -1)
			abort();
		patch_reset(&p);
		if (claim_pause(&g, 0, NOW, &p, &rep, err, sizeof(err)) == -1)
			abort();
		apply(&g, &p, &out2);
		if (out2.len != f->size || memcmp(out2.s, f->buf, f->size) != 0)
			abort();
		tf_free(&g);
	}
	patch_free(&p);
	buf_free(&out);
	buf_free(&out2);
	buf_free(&rep);
	buf_free(&r);
}

/*
 * A batch (issue 14): every line it claims reads back as running by W
 * with the text replied, no other line changes, the claims come in file
 * order, and a reset gives back the file as it was.
 */
static void
fuzz_batch(const struct tf_file *f, const uint8_t *data,
    const struct buf *r0)
{
	static const long live[] = { 0, 1, 2 };
	struct claim_req	 q;
	struct claim_reply	 r;
	struct patch		 p = PATCH_INIT;
	struct buf		 out = BUF_INIT, r2 = BUF_INIT;
	struct tf_file		 g;
	struct tf_item		 it;
	char			 err[256];
	size_t			 i, k, n, from, line, len, last = 0;
	const char		*text;

	memset(&q, 0, sizeof(q));
	q.worker = data[0] % 3;
	q.pos = data[1] % (f->nline + 2);
	q.batch = 2 + data[2] % 6;
	q.retries = (long)(data[0] / 8 % 3) - 1;
	q.live = live;
	q.nlive = 1 + data[3] % 3;
	q.now = NOW;
	if (claim_next(f, &q, &p, &r, err, sizeof(err)) == -1) {
		patch_free(&p);
		return;
	}
	apply(f, &p, &out);
	if (tf_split(&g, out.s, out.len, err, sizeof(err)) == -1 ||
	    g.nline != f->nline || (r.answer != CLAIM_WORK && r.nmore > 0) ||
	    r.nmore + 1 > q.batch)
		abort();
	n = 0;
	for (k = 0; r.answer == CLAIM_WORK && r.task_line > 0 &&
	    k <= r.nmore; k++) {
		from = k > 1 ? r.more_end[k - 2] : 0;
		line = k == 0 ? r.task_line : r.more_line[k - 1];
		text = k == 0 ? r.task_text.s : r.more_text.s + from;
		len = k == 0 ? r.task_text.len : r.more_end[k - 1] - from;
		if (k > 0 && line <= last)
			abort();
		last = line;
		if (tf_classify(g.buf + g.off[line - 1], tf_linelen(&g, line -
		    1), line, &it, err, sizeof(err)) == -1 ||
		    it.kind != TF_RUNNING || it.worker != q.worker ||
		    it.textlen != len || memcmp(it.text, text, len) != 0)
			abort();
		n++;
	}
	for (i = k = 0; i < f->nline; i++)
		if (tf_linelen(f, i) != tf_linelen(&g, i) ||
		    memcmp(f->buf + f->off[i], g.buf + g.off[i],
		    tf_linelen(f, i)) != 0)
			k++;
	if (k > n)
		abort();
	if (reset_of(out.s, out.len, &r2) == -1)
		abort();
	same(r0, &r2, "reset(batch(f)) == reset(f)");
	tf_free(&g);
	claim_reply_free(&r);
	patch_free(&p);
	buf_free(&out);
	buf_free(&r2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tf_file		 f, g;
	struct patch		 p = PATCH_INIT;
	struct claim_req	 q;
	struct claim_reply	 r;
	struct buf		 out = BUF_INIT, r0 = BUF_INIT, r1 = BUF_INIT;
	struct buf		 r2 = BUF_INIT;
	struct tf_item		 it;
	char			 err[256];
	const char		*s = (const char *)data + 4;
	size_t			 n, i, changed = 0;

	fuzz_proto(data, size);
	if (size < 4)
		return 0;
	n = size - 4;
	/*
	 * Known and accepted: a last line ending in a bare CR becomes a CRLF
	 * line when a line is appended after it.
	 */
	if (n > 0 && s[n - 1] == '\r')
		return 0;
	/*
	 * Known and open: a bare CR inside an annotation (not before a LF)
	 * can make a release or claim read back one CR different.
	 */
	for (i = 0; i + 1 < n; i++)
		if (s[i] == '\r' && s[i + 1] != '\n')
			return 0;
	if (tf_split(&f, s, n, err, sizeof(err)) == -1)
		return 0;
	if (reset_of(s, n, &r0) == -1)
		goto out;
	/* reset is idempotent */
	if (reset_of(r0.s, r0.len, &r1) == -1)
		abort();
	same(&r0, &r1, "reset(reset(f)) == reset(f)");

	memset(&q, 0, sizeof(q));
	q.worker = data[0] % 8;
	q.pos = data[1] % (f.nline + 2);
	q.fin_line = data[2] % (f.nline + 2);
	q.fin_status = data[3] % 5 == 4 ? PROTO_ST_KILLED :
	    data[3] % 5 == 3 ? PROTO_ST_RELEASE : data[3] % 3;
	q.retries = (long)(data[0] / 8 % 3) - 1;
	q.now = NOW;
	if (q.fin_line > 0 && q.fin_line <= f.nline) {
		if (tf_classify(f.buf + f.off[q.fin_line - 1],
		    tf_linelen(&f, q.fin_line - 1), q.fin_line, &it, err,
		    sizeof(err)) == 0 || it.ann != NULL) {
			q.fin_text = it.text;
			q.fin_textlen = it.textlen;
		}
	}
	if (q.fin_text == NULL) {
		q.fin_text = "x";
		q.fin_textlen = 1;
	}
	if (claim_next(&f, &q, &p, &r, err, sizeof(err)) == -1) {
		patch_free(&p);
		goto out;
	}
	apply(&f, &p, &out);
	if (tf_split(&g, out.s, out.len, err, sizeof(err)) == -1)
		abort();
	/* only the finished and claimed lines change; lines only appended */
	if (g.nline < f.nline)
		abort();
	for (i = 0; i < f.nline; i++) {
		size_t a = tf_linelen(&f, i), b = tf_linelen(&g, i);

		if (a == b && memcmp(f.buf + f.off[i], g.buf + g.off[i], a) ==
		    0)
			continue;
		if (i + 1 != r.fin_at && i + 1 != r.task_line &&
		    !(i + 1 == f.nline && f.buf[f.size - 1] != '\n'))
			abort();
		changed++;
	}
	if (changed > 2)
		abort();
	if (r.answer == CLAIM_WORK && r.task_line > 0) {
		size_t t = r.task_line - 1;

		if (tf_classify(g.buf + g.off[t], tf_linelen(&g, t), t + 1,
		    &it, err, sizeof(err)) == -1 || it.kind != TF_RUNNING ||
		    it.worker != q.worker || it.textlen != r.task_text.len ||
		    memcmp(it.text, r.task_text.s, it.textlen) != 0) {
			fprintf(stderr, "claimed line %zu does not read back "
			    "as running by %ld with text [%.*s]: kind %d, "
			    "worker %ld, text [%.*s]\n", t + 1, q.worker,
			    (int)r.task_text.len, r.task_text.s, it.kind,
			    it.worker, (int)it.textlen, it.text);
			abort();
		}
	}
	if (reset_of(out.s, out.len, &r2) == -1)
		abort();
	same(&r0, &r2, "reset(next(f)) == reset(f)");
	tf_free(&g);
	claim_reply_free(&r);

	/* register */
	patch_reset(&p);
	if (claim_register(&f, data[0] % 3 == 0 ? -1 : data[0], "w x", NOW,
	    &p, err, sizeof(err)) >= 0) {
		apply(&f, &p, &out);
		if (reset_of(out.s, out.len, &r2) == -1)
			abort();
		same(&r0, &r2, "reset(register(f)) == reset(f)");
	}
	fuzz_limits(&f, data, &r0);
	fuzz_batch(&f, data, &r0);
	patch_free(&p);
out:
	tf_free(&f);
	buf_free(&out);
	buf_free(&r0);
	buf_free(&r1);
	buf_free(&r2);
	return 0;
}
