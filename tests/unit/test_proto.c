/*
 * Unit tests of common/proto.c: the rtq/rtq-claim exchange.
 *
 * Every request kind goes through both encodings (command-line words and a
 * serve line) and must decode to what was encoded; every reply kind goes
 * through encode and decode the same way.  Then the malformed inputs a
 * broken connection, an old peer or a hostile caller can produce: extra
 * and missing words, huge numbers, CR, NUL, unknown words.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "testutil.h"

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
expect_same_req(const struct proto_req *a, const struct proto_req *b)
{
	ck_assert_int_eq(a->op, b->op);
	ck_assert_int_eq(a->worker, b->worker);
	ck_assert(a->seq == b->seq);
	ck_assert_uint_eq(a->pos, b->pos);
	ck_assert_int_eq(a->has_item, b->has_item);
	ck_assert_int_eq(a->item.init, b->item.init);
	ck_assert_uint_eq(a->item.line, b->item.line);
	ck_assert_int_eq(a->item.status, b->item.status);
	ck_assert(same_str(a->item.log, b->item.log));
	ck_assert(same_str(a->item.text, b->item.text));
	ck_assert(same_str(a->name ? a->name : "", b->name ? b->name : "") ||
	    (a->op != PROTO_REGISTER));
	ck_assert_int_eq(a->lease, b->lease);
	ck_assert_uint_eq(a->from, b->from);
	ck_assert_int_eq(a->failed, b->failed);
	ck_assert(same_str(a->command, b->command));
	ck_assert_int_eq(a->json, b->json);
	ck_assert_int_eq(a->hold, b->hold);
	ck_assert_int_eq(a->color, b->color);
	ck_assert_int_eq(a->width, b->width);
	ck_assert_int_eq(a->all, b->all);
	ck_assert_int_eq(a->retries, b->retries);
	ck_assert(a->machine == b->machine);
	ck_assert_int_eq(a->nlines, b->nlines);
	ck_assert(memcmp(a->lines, b->lines, sizeof(a->lines)) == 0);
	ck_assert_uint_eq(a->log_line, b->log_line);
	ck_assert_int_eq(a->log_err, b->log_err);
	ck_assert(a->log_cap == b->log_cap);
	ck_assert(a->log_off == b->log_off);
	ck_assert(a->log_size == b->log_size);
	ck_assert_int_eq(a->log_end, b->log_end);
}

/* decode(encode(q)) == q, as words and (where served) as a line */
static void
round_trip(const struct proto_req *q)
{
	struct proto_words w;
	struct proto_req d;
	struct buf	 line = BUF_INIT;
	const char	*msg = NULL;

	ck_assert_int_eq(proto_encode_words(q, &w), 0);
	ck_assert_str_eq(w.op, proto_ops[q->op].name);
	if (proto_decode_argv(&d, w.op, w.n, (char *const *)w.w, &msg) != 0)
		ck_abort_msg("words of %s do not decode: %s", w.op, msg);
	expect_same_req(q, &d);
	if (proto_ops[q->op].flags & PROTO_F_SERVE) {
		ck_assert_int_eq(proto_encode_line(q, &line), 0);
		ck_assert_int_eq(line.s[line.len - 1], '\n');
		line.s[--line.len] = '\0';
		if (proto_decode_line(&d, line.s, line.len, &msg) != 0)
			ck_abort_msg("line [%s] does not decode: %s", line.s,
			    msg);
		expect_same_req(q, &d);
	}
	buf_free(&line);
	proto_words_free(&w);
}

static struct proto_req
req(enum proto_op op)
{
	struct proto_req q;

	proto_req_init(&q, op);
	return q;
}

START_TEST(test_every_request_round_trips)
{
	struct proto_req q;
	int		 op, st;
	static const int statuses[] = { 0, 1, 255, PROTO_ST_RELEASE,
	    PROTO_ST_LOST, PROTO_ST_KILLED };

	q = req(PROTO_REGISTER);
	q.name = "";
	round_trip(&q);
	q.worker = 999999999;
	q.name = "gpu box 10.0.0.7  two spaces";
	round_trip(&q);

	for (op = PROTO_NEXT; op <= PROTO_FINISH; op++)
		for (st = 0; st < 6; st++) {
			q = req((enum proto_op)op);
			q.worker = 3;
			q.seq = st == 2 ? -1 : 123456789012345LL;
			q.retries = st == 0 ? 0 : st == 5 ? 1000 : -1;
			q.machine = op == PROTO_NEXT && st >= 3 ?
			    0xffffffffffffULL >> (st - 3) : 0;
			q.pos = op == PROTO_NEXT ? (size_t)st * 7 : 0;
			q.has_item = op == PROTO_FINISH || st != 1;
			q.item.init = st == 4;
			q.item.line = 12;
			q.item.status = statuses[st];
			q.item.log = st == 1 ? "/var/log/x.12.3.log" : NULL;
			q.item.text = st == 3 ? "" : st == 4 ?
			    "printf 'a\rb\r'" : "echo 'a  b' # c #: d \\ $x";
			if (op == PROTO_NEXT && !q.has_item) {
				q.item.line = 0;
				q.item.status = 0;
				q.item.log = NULL;
				q.item.text = NULL;
				q.item.init = 0;
			}
			round_trip(&q);
		}

	q = req(PROTO_RESET);
	round_trip(&q);
	q.from = 17;
	round_trip(&q);
	q.failed = 1;
	round_trip(&q);
	q.from = 0;
	round_trip(&q);

	q = req(PROTO_ADD);
	round_trip(&q);
	q.command = "echo 'x  y' # z";
	round_trip(&q);

	q = req(PROTO_STATUS);
	round_trip(&q);
	q.json = 1;
	round_trip(&q);
	q.color = 1;
	round_trip(&q);
	q.width = 60;
	q.all = 1;
	round_trip(&q);

	q = req(PROTO_HEARTBEAT);
	q.worker = 0;
	round_trip(&q);
	q.lease = 120;
	round_trip(&q);
	q = req(PROTO_BYE);
	q.worker = 7;
	round_trip(&q);
	q = req(PROTO_SERVE);
	q.hold = 3000;
	round_trip(&q);
	q = req(PROTO_KILL);
	q.lines[q.nlines++] = 7;
	round_trip(&q);
	for (st = 1; st < PROTO_MAXLINES; st++)
		q.lines[q.nlines++] = (size_t)st * 3900000;
	round_trip(&q);
	q = req(PROTO_TALLY);
	round_trip(&q);
	q = req(PROTO_PAUSE);
	round_trip(&q);
	q = req(PROTO_RESUME);
	round_trip(&q);

	/* tasks' output: log (bytes follow), logs, logread */
	for (st = 0; st < 4; st++) {
		q = req(PROTO_LOG);
		q.worker = st * 5;
		q.log_line = 12;
		q.log_err = st & 1;
		q.log_cap = 10485760;
		q.log_off = st == 3 ? 123456789012345LL : st * 65536;
		q.log_size = st == 2 ? 0 : 65536;
		q.log_end = st >= 2;
		round_trip(&q);
		q.op = PROTO_LOGREAD;
		q.log_cap = 0;
		q.log_end = 0;
		round_trip(&q);
	}
	q = req(PROTO_LOGS);
	round_trip(&q);
	q.log_line = 7;
	round_trip(&q);

	for (op = 0; op < PROTO_NOPS; op++)
		if (op == PROTO_CAT || op == PROTO_PUT || op == PROTO_LOCK ||
		    op == PROTO_SERVE || op == PROTO_VERSION_OP) {
			q = req((enum proto_op)op);
			round_trip(&q);
		}
}
END_TEST

START_TEST(test_the_wire_forms)
{
	struct proto_req q = req(PROTO_NEXT);
	struct proto_words w;
	struct buf	 b = BUF_INIT;

	q.worker = 2;
	q.seq = 9;
	q.pos = 4;
	q.has_item = 1;
	q.item.line = 3;
	q.item.status = 1;
	q.item.log = "/l/x.log";
	q.item.text = "echo a b";
	ck_assert_int_eq(proto_encode_line(&q, &b), 0);
	ck_assert_str_eq(b.s, "next 2/9 4 task 3 1,log=/l/x.log echo a b\n");
	buf_reset(&b);
	q.item.status = PROTO_ST_RELEASE;
	q.item.log = NULL;
	q.op = PROTO_FINISH;
	ck_assert_int_eq(proto_encode_line(&q, &b), 0);
	ck_assert_str_eq(b.s, "finish 2/9 task 3 release echo a b\n");
	buf_reset(&b);
	q = req(PROTO_REGISTER);
	q.name = "n";
	ck_assert_int_eq(proto_encode_line(&q, &b), 0);
	ck_assert_str_eq(b.s, "register - n\n");
	buf_reset(&b);
	q = req(PROTO_NEXT);
	q.worker = 5;
	q.seq = 1;
	q.retries = 2;
	q.machine = 0xbeef;
	ck_assert_int_eq(proto_encode_line(&q, &b), 0);
	ck_assert_str_eq(b.s, "next 5/1,r=2,m=beef 0\n");
	buf_reset(&b);
	q = req(PROTO_KILL);
	q.lines[0] = 3;
	q.lines[1] = 12;
	q.nlines = 2;
	ck_assert_int_eq(proto_encode_words(&q, &w), 0);
	ck_assert_str_eq(w.w[0], "3,12");
	proto_words_free(&w);
	ck_assert_str_eq(proto_hello(), "hello 1\n");
	ck_assert(proto_hello_ok("hello 1"));
	ck_assert(!proto_hello_ok("hello 2"));
	ck_assert(!proto_hello_ok("hello 1 "));
	ck_assert(!proto_hello_ok("hello"));
	buf_free(&b);
}
END_TEST

/*
 * A batch: ",b=K" asks for up to K tasks, ",n=R" says that R item lines
 * follow, each with the times its task started and ended; they go in a
 * session only, and come back as they went.
 */
START_TEST(test_batch_wire_forms)
{
	struct proto_req q = req(PROTO_NEXT), d;
	struct proto_item more[2], got;
	struct proto_words w;
	struct buf	 b = BUF_INIT;
	char		*nl, *l2, *l3;
	const char	*msg;

	memset(more, 0, sizeof(more));
	q.worker = 2;
	q.seq = 9;
	q.pos = 4;
	q.batch = 64;
	q.has_item = 1;
	q.item.line = 3;
	q.item.status = 0;
	q.item.times = 1;
	q.item.ago_start = 1500;
	q.item.ago_end = 1200;
	q.item.text = "echo a";
	more[0].line = 5;
	more[0].status = 2;
	more[0].times = 1;
	more[0].ago_start = 900;
	more[0].ago_end = 20;
	more[0].log = "/l/5.log";
	more[0].text = "echo b # x";
	more[1].line = 6;
	more[1].status = PROTO_ST_START;
	more[1].times = 1;
	more[1].ago_start = 10;
	more[1].ago_end = 0;
	more[1].text = "echo c";
	q.more = more;
	q.nmore = 2;
	ck_assert_int_eq(proto_encode_line(&q, &b), 0);
	ck_assert_str_eq(b.s, "next 2/9,b=64,n=2 4 task 3 0,s=1500,e=1200 "
	    "echo a\ntask 5 2,s=900,e=20,log=/l/5.log echo b # x\n"
	    "task 6 start,s=10,e=0 echo c\n");
	/* not as words: the items would be lost */
	ck_assert_int_eq(proto_encode_words(&q, &w), -1);
	proto_words_free(&w);
	nl = strchr(b.s, '\n');
	*nl = '\0';
	l2 = nl + 1;
	*(nl = strchr(l2, '\n')) = '\0';
	l3 = nl + 1;
	*strchr(l3, '\n') = '\0';
	ck_assert_int_eq(proto_decode_line(&d, b.s, strlen(b.s), &msg), 0);
	ck_assert_int_eq(d.batch, 64);
	ck_assert_int_eq(d.nmore, 2);
	ck_assert_int_eq(d.item.times, 1);
	ck_assert_int_eq(d.item.ago_start, 1500);
	ck_assert_int_eq(d.item.ago_end, 1200);
	ck_assert_int_eq(proto_decode_more(l2, &got, &msg), 0);
	ck_assert_int_eq(got.line, 5);
	ck_assert_int_eq(got.status, 2);
	ck_assert_str_eq(got.log, "/l/5.log");
	ck_assert_int_eq(got.ago_start, 900);
	ck_assert_str_eq(got.text, "echo b # x");
	ck_assert_int_eq(proto_decode_more(l3, &got, &msg), 0);
	ck_assert_int_eq(got.status, PROTO_ST_START);
	ck_assert_str_eq(got.text, "echo c");
	/* out of range, repeated, or where they do not belong */
	buf_reset(&b);
	buf_adds(&b, "next 2/9,b=257 4");
	ck_assert_int_eq(proto_decode_line(&d, b.s, b.len, &msg), -1);
	buf_reset(&b);
	buf_adds(&b, "next 2/9,b=0 4");
	ck_assert_int_eq(proto_decode_line(&d, b.s, b.len, &msg), -1);
	buf_reset(&b);
	buf_adds(&b, "next 2/9,b=2,b=3 4");
	ck_assert_int_eq(proto_decode_line(&d, b.s, b.len, &msg), -1);
	buf_reset(&b);
	buf_adds(&b, "finish 2/9,b=2 task 3 0 x");
	ck_assert_int_eq(proto_decode_line(&d, b.s, b.len, &msg), -1);
	buf_reset(&b);
	buf_adds(&b, "task 3 0,s=x echo");
	ck_assert_int_eq(proto_decode_more(b.s, &got, &msg), -1);
	buf_reset(&b);
	buf_adds(&b, "task 3 0,q=1 echo");
	ck_assert_int_eq(proto_decode_more(b.s, &got, &msg), -1);
	buf_reset(&b);
	buf_adds(&b, "job 3 0 echo");
	ck_assert_int_eq(proto_decode_more(b.s, &got, &msg), -1);
	buf_free(&b);
}
END_TEST

/* A request that must not be sent: a line break in a text or a name. */
START_TEST(test_unsendable_requests_refused)
{
	struct proto_req q = req(PROTO_FINISH);
	struct proto_words w;
	struct buf	 b = BUF_INIT;

	q.worker = 1;
	q.item.line = 2;
	q.item.text = "echo a\nrm -rf x";
	ck_assert_int_eq(proto_encode_words(&q, &w), -1);
	proto_words_free(&w);
	ck_assert_int_eq(proto_encode_line(&q, &b), -1);
	q.item.text = "ok";
	q.item.status = 256;
	ck_assert_int_eq(proto_encode_line(&q, &b), -1);
	q.item.status = 1;
	q.item.log = "/a b/log";
	ck_assert_int_eq(proto_encode_line(&q, &b), -1);
	q = req(PROTO_REGISTER);
	q.name = "a\nb";
	ck_assert_int_eq(proto_encode_line(&q, &b), -1);
	buf_free(&b);
}
END_TEST

static int
line_ok(const char *s)
{
	struct proto_req q;
	char		 copy[512];
	const char	*msg;

	snprintf(copy, sizeof(copy), "%s", s);
	return proto_decode_line(&q, copy, strlen(copy), &msg) == 0;
}

static int
argv_ok(const char *op, int argc, const char *const *argv)
{
	struct proto_req q;
	const char	*msg = NULL;
	int		 r = proto_decode_argv(&q, op, argc, (char *const *)argv,
	    &msg);

	ck_assert(r == 0 || (msg != NULL && *msg != '\0'));
	return r == 0;
}

START_TEST(test_malformed_lines_rejected)
{
	struct proto_req q;
	const char	*msg;
	char		 nul[] = "bye 3\0junk";

	/* the good ones, so that the bad ones below fail for their fault */
	ck_assert(line_ok("next 1/2 0"));
	ck_assert(line_ok("next 1 5 task 4 0 echo a"));
	ck_assert(line_ok("finish 1/2 init 4 release x"));
	ck_assert(line_ok("heartbeat 1 60"));
	ck_assert(line_ok("bye 1"));
	ck_assert(line_ok("reset 4 --failed"));
	ck_assert(line_ok("register"));
	ck_assert(line_ok("next 1/2,r=0,m=a0 0"));
	ck_assert(line_ok("finish 1/2,r=1000 task 4 killed x"));
	ck_assert(line_ok("tally"));

	/* the worker word's options: known, once, well formed */
	ck_assert(!line_ok("next 1/2,r=1,r=2 0"));
	ck_assert(!line_ok("next 1/2,r= 0"));
	ck_assert(!line_ok("next 1/2,r=10000 0"));
	ck_assert(!line_ok("next 1/2,r=1001 0"));
	ck_assert(!line_ok("next 1/2,m=0 0"));
	ck_assert(!line_ok("next 1/2,m=A0 0"));
	ck_assert(!line_ok("next 1/2,m=12345678901234567 0"));
	ck_assert(!line_ok("next 1/2,x=1 0"));
	ck_assert(!line_ok("next 1/2, 0"));
	ck_assert(!line_ok("finish 1/2,m=a0 task 4 0 x"));
	ck_assert(!line_ok("tally x"));
	ck_assert(!line_ok("kill 3"));
	ck_assert(!line_ok("pause"));

	/* unknown, or not allowed in a session */
	ck_assert(!line_ok(""));
	ck_assert(!line_ok("nxt 1 0"));
	ck_assert(!line_ok("NEXT 1 0"));
	ck_assert(!line_ok("lock"));
	ck_assert(!line_ok("cat"));
	ck_assert(!line_ok("add echo a"));
	ck_assert(!line_ok("serve"));
	ck_assert(!line_ok("version"));
	ck_assert(!line_ok("hello 1"));
	/* missing words */
	ck_assert(!line_ok("next"));
	ck_assert(!line_ok("next 1"));
	ck_assert(!line_ok("next 1 0 task 4 0"));
	ck_assert(!line_ok("finish 1 task 4"));
	ck_assert(!line_ok("heartbeat"));
	ck_assert(!line_ok("bye"));
	/* extra words (the last word takes the rest, and must be valid) */
	ck_assert(!line_ok("bye 1 2"));
	ck_assert(!line_ok("heartbeat 1 60 5"));
	ck_assert(!line_ok("next 1 0 0"));
	ck_assert(!line_ok("reset 4 5"));
	ck_assert(!line_ok("reset --failed --failed"));
	/* huge, negative or odd numbers */
	ck_assert(!line_ok("next 1000000000 0"));
	ck_assert(!line_ok("next 1/1000000000000000000 0"));
	ck_assert(!line_ok("next 1/99999999999999999999999 0"));
	ck_assert(!line_ok("next -1 0"));
	ck_assert(!line_ok("next 1/ 0"));
	ck_assert(!line_ok("next /3 0"));
	ck_assert(!line_ok("next 1 99999999999 task 4 0 x"));
	ck_assert(!line_ok("next 1 0 task 0 0 x"));
	ck_assert(!line_ok("next 1 0 task 4 256 x"));
	ck_assert(!line_ok("next 1 0 task 4 -1 x"));
	ck_assert(!line_ok("next 1 0 task 4 1e3 x"));
	ck_assert(!line_ok("next 1 0 task 4 0x1 x"));
	ck_assert(!line_ok("next 1 0 task 4 1,log= x"));
	ck_assert(!line_ok("next 1 0 task 4 1,lag=/x x"));
	ck_assert(!line_ok("next 1 0 job 4 0 x"));
	ck_assert(!line_ok("heartbeat 1 0"));
	ck_assert(!line_ok("heartbeat 1 -5"));
	ck_assert(!line_ok("next 1  0"));
	/* CR and NUL: a CR only in a task text, carried as it is */
	ck_assert(line_ok("next 1 0 task 4 0 echo a\rb\r"));
	ck_assert(!line_ok("bye 1\r"));
	ck_assert(!line_ok("next 1\r 0"));
	ck_assert(!line_ok("register - name\rx"));
	ck_assert_int_eq(proto_decode_line(&q, nul, sizeof(nul) - 1, &msg),
	    -1);
}
END_TEST

START_TEST(test_malformed_argv_rejected)
{
	ck_assert(argv_ok("next", 2, (const char *[]){ "1", "0" }));
	ck_assert(argv_ok("kill", 1, (const char *[]){ "3,4" }));
	ck_assert(!argv_ok("kill", 0, (const char *[]){ NULL }));
	ck_assert(!argv_ok("kill", 1, (const char *[]){ "0" }));
	ck_assert(!argv_ok("kill", 1, (const char *[]){ "3," }));
	ck_assert(!argv_ok("kill", 1, (const char *[]){ ",3" }));
	ck_assert(!argv_ok("kill", 1, (const char *[]){ "3,,4" }));
	ck_assert(!argv_ok("kill", 1, (const char *[]){ "x" }));
	ck_assert(!argv_ok("kill", 2, (const char *[]){ "3", "4" }));
	ck_assert(!argv_ok("pause", 1, (const char *[]){ "x" }));
	ck_assert(!argv_ok("next", 3, (const char *[]){ "1", "0", "x" }));
	ck_assert(!argv_ok("next", 7, (const char *[]){ "1", "0", "task",
	    "4", "0", "x", "y" }));
	ck_assert(!argv_ok("finish", 4, (const char *[]){ "1", "task", "4",
	    "0" }));
	ck_assert(!argv_ok("next", 6, (const char *[]){ "1", "0", "task",
	    "4", "0", "two\nlines" }));
	ck_assert(!argv_ok("register", 3, (const char *[]){ "1", "a", "b" }));
	ck_assert(!argv_ok("register", 1, (const char *[]){ "x" }));
	ck_assert(!argv_ok("register", 2, (const char *[]){ "-", "a\nb" }));
	ck_assert(!argv_ok("cat", 1, (const char *[]){ "x" }));
	ck_assert(!argv_ok("lock", 1, (const char *[]){ "x" }));
	ck_assert(!argv_ok("status", 1, (const char *[]){ "--yaml" }));
	ck_assert(!argv_ok("status", 2, (const char *[]){ "--json",
	    "--json" }));
	ck_assert(!argv_ok("add", 2, (const char *[]){ "a", "b" }));
	ck_assert(!argv_ok("add", 1, (const char *[]){ "a\nb" }));
	ck_assert(!argv_ok("reset", 1, (const char *[]){ "x" }));
	ck_assert(!argv_ok("frobnicate", 0, NULL));
	ck_assert(argv_ok("version", 0, NULL));
}
END_TEST

static void
reply_round_trip(const struct proto_reply *r, const char *wire)
{
	struct buf	 b = BUF_INIT;
	struct proto_reply d;
	int		 i;

	ck_assert_int_eq(proto_encode_reply(r, &b), 0);
	if (wire != NULL)
		ck_assert_str_eq(b.s, wire);
	/* a login script's noise before it is skipped */
	buf_reset(&b);
	buf_adds(&b, "Welcome!\nRTQ is not RTQ1\n");
	ck_assert_int_eq(proto_encode_reply(r, &b), 0);
	buf_adds(&b, "BODY");
	ck_assert_int_eq(proto_decode_reply(b.s, b.len, &d), 0);
	ck_assert_int_eq(d.kind, r->kind);
	ck_assert_str_eq(d.body, "BODY");
	switch (r->kind) {
	case PROTO_WORK:
	case PROTO_WAIT:
	case PROTO_NONE:
		ck_assert_uint_eq(d.pos, r->pos);
		ck_assert_int_eq(d.fin, r->fin);
		ck_assert_int_eq(d.nitems, r->nitems);
		for (i = 0; i < r->nitems; i++) {
			ck_assert_int_eq(d.item[i].init, r->item[i].init);
			ck_assert_uint_eq(d.item[i].line, r->item[i].line);
			ck_assert_uint_eq(d.textlen[i], r->textlen[i]);
			ck_assert(memcmp(d.item[i].text, r->item[i].text,
			    r->textlen[i]) == 0);
		}
		break;
	case PROTO_ID:
		ck_assert_int_eq(d.id, r->id);
		break;
	case PROTO_OK:
		ck_assert_int_eq(d.okw, r->okw);
		ck_assert(d.count == r->count);
		if (r->okw == PROTO_OK_VERSION) {
			ck_assert_int_eq(d.protocol, r->protocol);
			ck_assert_str_eq(d.version, r->version);
		}
		ck_assert(memcmp(&d.tally, &r->tally, sizeof(d.tally)) == 0);
		break;
	case PROTO_KILLREQ:
		ck_assert_uint_eq(d.pos, r->pos);
		break;
	case PROTO_ERROR:
		ck_assert_int_eq(d.code, r->code);
		ck_assert_str_eq(d.msg, r->msg);
		break;
	default:
		break;
	}
	buf_free(&b);
}

START_TEST(test_every_reply_round_trips)
{
	struct proto_reply r;
	int		 k, f;

	for (k = PROTO_WORK; k <= PROTO_NONE; k++)
		for (f = PROTO_FIN_NONE; f <= PROTO_FIN_ORPHAN; f++) {
			memset(&r, 0, sizeof(r));
			r.kind = (enum proto_kind)k;
			r.pos = 42;
			r.fin = (enum proto_fin)f;
			if (k == PROTO_WORK) {
				r.nitems = 1 + f % 2;
				r.item[0].init = r.nitems == 2;
				r.item[0].line = 3;
				r.item[0].text = "cd /x #!";
				r.textlen[0] = 8;
				r.item[r.nitems - 1].line = 9;
				r.item[r.nitems - 1].text = "echo 'a  b'  ";
				r.textlen[r.nitems - 1] = 13;
			}
			reply_round_trip(&r, NULL);
		}
	memset(&r, 0, sizeof(r));
	r.kind = PROTO_WORK;
	r.pos = 5;
	r.fin = PROTO_FIN_DONE;
	r.nitems = 1;
	r.item[0].line = 5;
	r.item[0].text = "";
	reply_round_trip(&r, "RTQ1 work 5 done 1\ntask 5 \n");

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_ID;
	r.id = 999999999;
	reply_round_trip(&r, "RTQ1 id 999999999\n");
	r.kind = PROTO_LOCKED;
	reply_round_trip(&r, "RTQ1 locked\n");
	r.kind = PROTO_LOST;
	reply_round_trip(&r, "RTQ1 lost\n");
	r.kind = PROTO_KILLREQ;
	r.pos = 12;
	reply_round_trip(&r, "RTQ1 kill 12\n");
	r.pos = 0;
	r.kind = PROTO_OK;
	reply_round_trip(&r, "RTQ1 ok\n");
	r.okw = PROTO_OK_ADDED;
	r.count = 10000;
	reply_round_trip(&r, "RTQ1 ok added 10000\n");
	r.okw = PROTO_OK_KEPT;
	r.count = 0;
	reply_round_trip(&r, "RTQ1 ok kept 0\n");
	r.okw = PROTO_OK_SIZE;
	r.count = 40000000000LL;
	reply_round_trip(&r, "RTQ1 ok 40000000000\n");
	r.okw = PROTO_OK_VERSION;
	r.count = 0;
	snprintf(r.version, sizeof(r.version), "0.1.0");
	r.protocol = PROTO_VERSION;
	reply_round_trip(&r, "RTQ1 ok rtq-claim 0.1.0 protocol 1\n");
	r.okw = PROTO_OK_TALLY;
	r.tally.done = 1;
	r.tally.failed = 2;
	r.tally.killed = 3;
	r.tally.blocked = 4;
	r.tally.retry = 5;
	r.tally.pending = 6;
	r.tally.running = 7;
	r.tally.paused = 1;
	reply_round_trip(&r, "RTQ1 ok tally 1 2 3 4 5 6 7 1\n");
	memset(&r, 0, sizeof(r));
	r.kind = PROTO_ERROR;
	r.code = PROTO_EFILE;
	r.msg = "/x/t.sh: no such task file";
	reply_round_trip(&r, "RTQ1 error 3 /x/t.sh: no such task file\n");
}
END_TEST

START_TEST(test_error_message_line_breaks_flattened)
{
	struct proto_reply r, d;
	struct buf	 b = BUF_INIT;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_ERROR;
	r.code = PROTO_EFILE;
	r.msg = "/tmp/a\nRTQ1 id 7\r: no such task file";
	ck_assert_int_eq(proto_encode_reply(&r, &b), 0);
	ck_assert_str_eq(b.s, "RTQ1 error 3 /tmp/a RTQ1 id 7 : no such task "
	    "file\n");
	ck_assert_int_eq(proto_decode_reply(b.s, b.len, &d), 0);
	ck_assert_int_eq(d.kind, PROTO_ERROR);
	buf_free(&b);
}
END_TEST

static int
head_ok(const char *s)
{
	struct proto_reply r;

	return proto_decode_head(s, &r) == 0;
}

START_TEST(test_malformed_replies_rejected)
{
	struct proto_reply r;
	char		 b1[] = "RTQ1 work 3 none 1\n";
	char		 b2[] = "hello\nno reply here\n";
	char		 b3[] = "RTQ1 work 3 none 1\ntask 3 echo a";

	ck_assert(head_ok("RTQ1 wait 3 none 0"));
	ck_assert(!head_ok("RTQ2 wait 3 none 0"));
	ck_assert(!head_ok("RTQ1 wait 3 none 1"));
	ck_assert(!head_ok("RTQ1 work 3 none 0"));
	ck_assert(head_ok("RTQ1 work 3 none 3"));	/* a batch */
	ck_assert(head_ok("RTQ1 work 3 none 257"));
	ck_assert(!head_ok("RTQ1 work 3 none 258"));
	ck_assert(!head_ok("RTQ1 wait 3 finished 0"));
	ck_assert(!head_ok("RTQ1 wait 3 none 0 x"));
	ck_assert(!head_ok("RTQ1 wait 99999999999 none 0"));
	ck_assert(!head_ok("RTQ1 wait -3 none 0"));
	ck_assert(!head_ok("RTQ1 id"));
	ck_assert(!head_ok("RTQ1 id 1x"));
	ck_assert(!head_ok("RTQ1 lost now"));
	ck_assert(!head_ok("RTQ1 ok added"));
	ck_assert(!head_ok("RTQ1 ok kept x"));
	ck_assert(!head_ok("RTQ1 ok rtq-claim 1.0"));
	ck_assert(!head_ok("RTQ1 ok rtq-claim 1.0 protocol"));
	ck_assert(!head_ok("RTQ1 ok rtq-claim 1.0 protocol 1 protocol 1"));
	ck_assert(!head_ok("RTQ1 ok 12 13"));
	ck_assert(!head_ok("RTQ1 error"));
	ck_assert(!head_ok("RTQ1 error x msg"));
	ck_assert(!head_ok("RTQ1 whatever"));
	/* items missing, no head at all, an item cut short */
	ck_assert_int_eq(proto_decode_reply(b1, sizeof(b1) - 1, &r), -1);
	ck_assert_int_eq(proto_decode_reply(b2, sizeof(b2) - 1, &r), -1);
	ck_assert_int_eq(proto_decode_reply(b3, sizeof(b3) - 1, &r), -1);
	ck_assert_int_eq(proto_decode_item("task 0 x", &r, 0), -1);
	ck_assert_int_eq(proto_decode_item("task 3", &r, 0), -1);
	ck_assert_int_eq(proto_decode_item("run 3 x", &r, 0), -1);
	ck_assert_int_eq(proto_decode_item("init 3 x", &r, 0), 0);
	ck_assert_int_eq(r.item[0].init, 1);
}
END_TEST

START_TEST(test_table_is_complete)
{
	int	 i;

	for (i = 0; i < PROTO_NOPS; i++) {
		ck_assert_ptr_nonnull(proto_ops[i].name);
		ck_assert_int_eq(proto_op_find(proto_ops[i].name), i);
		ck_assert_int_le(proto_ops[i].maxw, PROTO_MAXWORDS);
		ck_assert_int_le(proto_ops[i].minw, proto_ops[i].maxw);
		/* a session request never reads stdin */
		ck_assert(!((proto_ops[i].flags & PROTO_F_SERVE) &&
		    (proto_ops[i].flags & PROTO_F_STDIN)));
	}
	ck_assert_int_eq(proto_op_find("nope"), -1);
	ck_assert_str_eq(proto_fin_name(PROTO_FIN_ORPHAN), "orphan");
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite	*s = suite_create("proto");
	TCase	*tc = tcase_create("proto");

	tcase_add_test(tc, test_every_request_round_trips);
	tcase_add_test(tc, test_the_wire_forms);
	tcase_add_test(tc, test_batch_wire_forms);
	tcase_add_test(tc, test_unsendable_requests_refused);
	tcase_add_test(tc, test_malformed_lines_rejected);
	tcase_add_test(tc, test_malformed_argv_rejected);
	tcase_add_test(tc, test_every_reply_round_trips);
	tcase_add_test(tc, test_error_message_line_breaks_flattened);
	tcase_add_test(tc, test_malformed_replies_rejected);
	tcase_add_test(tc, test_table_is_complete);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(proto_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
