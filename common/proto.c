/*
 * proto: encoding and decoding of requests and replies.  See proto.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define MAGIC_LEN	(sizeof(PROTO_MAGIC " ") - 1)
#define NUM_MAX		999999999L	/* ids, lines, positions, leases */
#define SEQ_DIGITS	18		/* a SEQ stays below 10^18 */

const struct proto_opdef proto_ops[PROTO_NOPS] = {
	[PROTO_REGISTER] = { "register", 0, 2, PROTO_F_SERVE,
	    "[ID|-] [NAME]" },
	[PROTO_NEXT] = { "next", 2, 6, PROTO_F_SERVE | PROTO_F_WORKER,
	    "WORKER[/SEQ][,r=N][,m=KEY][,b=K][,n=R] POS "
	    "[init|task LINE STATUS TEXT]" },
	[PROTO_FINISH] = { "finish", 5, 5, PROTO_F_SERVE | PROTO_F_WORKER,
	    "WORKER[/SEQ][,r=N][,n=R] init|task LINE STATUS TEXT" },
	[PROTO_RESET] = { "reset", 0, 2, PROTO_F_SERVE, "[K] [--failed]" },
	[PROTO_ADD] = { "add", 0, 1, PROTO_F_STDIN, "[COMMAND]" },
	[PROTO_CAT] = { "cat", 0, 0, 0, "" },
	[PROTO_PUT] = { "put", 0, 0, PROTO_F_STDIN,
	    "< SIZE NEWLINE ORIGINAL EDITED" },
	[PROTO_LOCK] = { "lock", 0, 0, PROTO_F_STDIN, "" },
	[PROTO_STATUS] = { "status", 0, 4, 0,
	    "[--json] [--color] [--width=N] [--all]" },
	[PROTO_HEARTBEAT] = { "heartbeat", 1, 2,
	    PROTO_F_SERVE | PROTO_F_WORKER, "WORKER [LEASE]" },
	[PROTO_BYE] = { "bye", 1, 1, PROTO_F_SERVE | PROTO_F_WORKER,
	    "WORKER" },
	[PROTO_SERVE] = { "serve", 0, 1, PROTO_F_STDIN, "[HOLD_MS]" },
	[PROTO_VERSION_OP] = { "version", 0, 0, PROTO_F_NOFILE, "" },
	[PROTO_LOG] = { "log", 6, 7, PROTO_F_SERVE | PROTO_F_BODY, "WORKER LINE log|err CAP OFFSET SIZE [end] < BYTES" },
	[PROTO_LOGS] = { "logs", 1, 1, PROTO_F_SERVE, "LINE" },
	[PROTO_LOGREAD] = { "logread", 5, 5, PROTO_F_SERVE,
	    "LINE WORKER log|err OFFSET MAX" },
	[PROTO_TALLY] = { "tally", 0, 0, PROTO_F_SERVE, "" },
	[PROTO_KILL] = { "kill", 1, 1, 0, "LINE[,LINE...]" },
	[PROTO_PAUSE] = { "pause", 0, 0, 0, "" },
	[PROTO_RESUME] = { "resume", 0, 0, 0, "" }
};

static const char *const fins[] = { "none", "done", "repeat", "orphan" };

/* ------------------------------------------------------------------ */
/* numbers and words */

/* All of s is a number of at most maxdig digits. */
static int
num_ll(const char *s, size_t len, int maxdig, long long *v)
{
	long long	 x = 0;
	size_t		 i;

	if (len == 0 || len > (size_t)maxdig)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

static int
num(const char *s, long *v)
{
	long long	 x;

	if (num_ll(s, strlen(s), 9, &x) == -1)
		return -1;
	*v = (long)x;
	return 0;
}

static int
num_z(const char *s, size_t *v)
{
	long	 x;

	if (num(s, &x) == -1)
		return -1;
	*v = (size_t)x;
	return 0;
}

static int
has_break(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/* A task text may hold any byte but LF and NUL (a CR is carried). */
static int
has_lf(const char *s)
{
	return s != NULL && strchr(s, '\n') != NULL;
}

/* The hexadecimal number s[0..len) of 1 to 16 digits, into *v. */
static int
hex_ll(const char *s, size_t len, unsigned long long *v)
{
	size_t	 i;
	int	 d;

	if (len == 0 || len > 16)
		return -1;
	for (*v = 0, i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* "W[/SEQ][,r=N][,m=KEY][,b=K][,n=R]" into q */
static int
worker_word(const char *s, struct proto_req *q)
{
	const char	*end = s + strcspn(s, ","), *slash;
	long long	 x;

	q->seq = -1;
	slash = memchr(s, '/', (size_t)(end - s));
	if (num_ll(s, (size_t)((slash != NULL ? slash : end) - s), 9, &x) ==
	    -1)
		return -1;
	q->worker = (long)x;
	if (slash != NULL && num_ll(slash + 1, (size_t)(end - slash - 1),
	    SEQ_DIGITS, &q->seq) == -1)
		return -1;
	while (*end == ',') {
		s = end + 1;
		end = s + strcspn(s, ",");
		if (strncmp(s, "r=", 2) == 0 && q->retries < 0 &&
		    num_ll(s + 2, (size_t)(end - s - 2), 4, &x) == 0 &&
		    x <= PROTO_MAXRETRIES)
			q->retries = (long)x;
		else if (strncmp(s, "m=", 2) == 0 && q->machine == 0 &&
		    hex_ll(s + 2, (size_t)(end - s - 2), &q->machine) == 0 &&
		    q->machine != 0)
			continue;
		else if (strncmp(s, "b=", 2) == 0 && q->batch == 0 &&
		    num_ll(s + 2, (size_t)(end - s - 2), 3, &x) == 0 &&
		    x >= 1 && x <= PROTO_MAXBATCH)
			q->batch = (long)x;
		else if (strncmp(s, "n=", 2) == 0 && q->nmore == 0 &&
		    num_ll(s + 2, (size_t)(end - s - 2), 3, &x) == 0 &&
		    x >= 1 && x <= PROTO_MAXBATCH)
			q->nmore = (int)x;
		else
			return -1;
	}
	return *end == '\0' ? 0 : -1;
}

/*
 * "N" (0..255), "release", "lost", "killed", "start", then options:
 * ",log=PATH" (N > 0; no white space), ",s=MS" and ",e=MS" (the times of
 * a task of a batch, in ms before the request)
 */
static int
status_word(const char *s, struct proto_item *it)
{
	static const struct { const char *w; int st; } named[] = {
		{ "release", PROTO_ST_RELEASE }, { "lost", PROTO_ST_LOST },
		{ "killed", PROTO_ST_KILLED }, { "start", PROTO_ST_START }
	};
	const char	*end = s + strcspn(s, ",");
	long long	 v;
	size_t		 i, n = (size_t)(end - s);

	it->log = NULL;
	it->times = 0;
	it->ago_start = it->ago_end = 0;
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].w) == n && memcmp(s, named[i].w, n) == 0)
			break;
	if (i < sizeof(named) / sizeof(named[0]))
		it->status = named[i].st;
	else if (num_ll(s, n, 3, &v) == -1 || v > 255)
		return -1;
	else
		it->status = (int)v;
	while (*end == ',') {
		s = end + 1;
		end = s + strcspn(s, ",");
		n = (size_t)(end - s);
		if (strncmp(s, "log=", 4) == 0) {
			/* the last option: the path runs to the end */
			it->log = s + 4;
			return it->status >= 0 && s[4] != '\0' &&
			    strpbrk(s, " \t\r\n") == NULL ? 0 : -1;
		}
		if ((s[0] == 's' || s[0] == 'e') && s[1] == '=' &&
		    num_ll(s + 2, n - 2, 9, &v) == 0) {
			*(s[0] == 's' ? &it->ago_start : &it->ago_end) = v;
			it->times = 1;
		} else
			return -1;
	}
	return *end == '\0' ? 0 : -1;
}

/* argv[0..3]: init|task LINE STATUS TEXT */
static int
item_words(char *const *av, struct proto_item *it)
{
	if (strcmp(av[0], "init") == 0)
		it->init = 1;
	else if (strcmp(av[0], "task") == 0)
		it->init = 0;
	else
		return -1;
	if (num_z(av[1], &it->line) == -1 || it->line == 0 ||
	    status_word(av[2], it) == -1 || has_lf(av[3]))
		return -1;
	it->text = av[3];
	return 0;
}

void
proto_req_init(struct proto_req *q, enum proto_op op)
{
	memset(q, 0, sizeof(*q));
	q->op = op;
	q->worker = -1;
	q->seq = -1;
	q->retries = -1;
}

int
proto_op_find(const char *s)
{
	int	 i;

	for (i = 0; i < PROTO_NOPS; i++)
		if (strcmp(s, proto_ops[i].name) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* requests */

static int
decode_register(struct proto_req *q, int argc, char *const *argv,
    const char **msg)
{
	*msg = "register: ID must be a number from 0 to 999999999";
	if (argc >= 1 && strcmp(argv[0], "-") != 0 &&
	    num(argv[0], &q->worker) == -1)
		return -1;
	q->name = argc == 2 ? argv[1] : "";
	*msg = "register: NAME holds a line break";
	return has_break(q->name) ? -1 : 0;
}

static int
decode_item_req(struct proto_req *q, int argc, char *const *argv,
    const char **msg)
{
	int	 fin = q->op == PROTO_FINISH, i = 1;

	*msg = fin ? "finish: expected WORKER init|task LINE STATUS TEXT" :
	    "next: expected WORKER POS [init|task LINE STATUS TEXT]";
	if (!fin && argc != 2 && argc != 6)
		return -1;
	*msg = "WORKER must be a number from 0 to 999999999, optionally "
	    "followed by /SEQ, ,r=RETRIES, ,m=KEY, ,b=K and ,n=R";
	if (worker_word(argv[0], q) == -1 || (fin && (q->machine != 0 ||
	    q->batch != 0)))
		return -1;
	if (!fin) {
		*msg = "POS must be a line number";
		if (num_z(argv[1], &q->pos) == -1)
			return -1;
		i = 2;
	}
	if (argc == i)
		return 0;
	*msg = "the reported item must be init|task, a line number, a status "
	    "(0-255, release, lost) and one line of text";
	q->has_item = 1;
	return item_words(argv + i, &q->item);
}

/* log, logs, logread */
static int
decode_log(struct proto_req *q, int argc, char *const *argv,
    const char **msg)
{
	static char	 m[160];
	long		 v;
	int		 i = 0;

	snprintf(m, sizeof(m), "%s: expected %s", proto_ops[q->op].name,
	    proto_ops[q->op].args);
	*msg = m;
	if (q->op == PROTO_LOG && num(argv[i++], &q->worker) == -1)
		return -1;
	if (num(argv[i++], &v) == -1 || (v == 0 && q->op != PROTO_LOGS))
		return -1;
	q->log_line = (size_t)v;
	if (q->op == PROTO_LOGS)
		return 0;
	if (q->op == PROTO_LOGREAD && num(argv[i++], &q->worker) == -1)
		return -1;
	if (strcmp(argv[i], "err") == 0)
		q->log_err = 1;
	else if (strcmp(argv[i], "log") != 0)
		return -1;
	i++;
	if (q->op == PROTO_LOG && num_ll(argv[i], strlen(argv[i]),
	    SEQ_DIGITS, &q->log_cap) == -1)
		return -1;
	i += q->op == PROTO_LOG;
	if (num_ll(argv[i], strlen(argv[i]), SEQ_DIGITS, &q->log_off) == -1 ||
	    num_ll(argv[i + 1], strlen(argv[i + 1]), 9, &q->log_size) == -1)
		return -1;
	i += 2;
	if (i < argc && (q->op != PROTO_LOG || strcmp(argv[i], "end") != 0))
		return -1;
	q->log_end = i < argc;
	return 0;
}

/* "L[,L...]": at most PROTO_MAXLINES line numbers */
static int
decode_lines(struct proto_req *q, const char *s)
{
	const char	*end;
	long long	 v;

	for (;;) {
		end = s + strcspn(s, ",");
		if (q->nlines == PROTO_MAXLINES ||
		    num_ll(s, (size_t)(end - s), 9, &v) == -1 || v == 0)
			return -1;
		q->lines[q->nlines++] = (size_t)v;
		if (*end == '\0')
			return 0;
		s = end + 1;
	}
}

static int
decode_other(struct proto_req *q, int argc, char *const *argv,
    const char **msg)
{
	int	 i;

	switch (q->op) {
	case PROTO_RESET:
		*msg = "reset: K must be a line number";
		for (i = 0; i < argc; i++)
			if (strcmp(argv[i], "--failed") == 0 && !q->failed)
				q->failed = 1;
			else if (q->from > 0 || num_z(argv[i], &q->from) == -1)
				return -1;
		return 0;
	case PROTO_ADD:
		*msg = "add: the command holds a line break";
		q->command = argc == 1 ? argv[0] : NULL;
		return has_break(q->command) ? -1 : 0;
	case PROTO_STATUS:
		*msg = "status: expected --json, --color, --width=N (20 to 9999) "
		    "or --all";
		for (i = 0; i < argc; i++) {
			long	 v;

			if (strcmp(argv[i], "--json") == 0 && !q->json)
				q->json = 1;
			else if (strcmp(argv[i], "--color") == 0 && !q->color)
				q->color = 1;
			else if (strcmp(argv[i], "--all") == 0 && !q->all)
				q->all = 1;
			else if (strncmp(argv[i], "--width=", 8) == 0 &&
			    !q->width && num(argv[i] + 8, &v) == 0 &&
			    v >= 20 && v <= 9999)
				q->width = (int)v;
			else
				return -1;
		}
		return 0;
	case PROTO_KILL:
		*msg = "kill: expected LINE[,LINE...]: line numbers";
		return decode_lines(q, argv[0]);
	case PROTO_SERVE:
		*msg = "serve: HOLD_MS must be a number of milliseconds";
		return argc == 1 && num(argv[0], &q->hold) == -1 ? -1 : 0;
	case PROTO_LOG:
	case PROTO_LOGS:
	case PROTO_LOGREAD:
		return decode_log(q, argc, argv, msg);
	case PROTO_HEARTBEAT:
	case PROTO_BYE:
		*msg = "heartbeat: expected WORKER [LEASE]; bye: WORKER";
		if (num(argv[0], &q->worker) == -1 || (argc == 2 &&
		    (num(argv[1], &q->lease) == -1 || q->lease == 0)))
			return -1;
		return 0;
	default:
		return 0;
	}
}

int
proto_decode_argv(struct proto_req *q, const char *op, int argc,
    char *const *argv, const char **msg)
{
	static char		 m[160];
	const struct proto_opdef *d;
	int			 k;

	proto_req_init(q, PROTO_REGISTER);
	if ((k = proto_op_find(op)) == -1) {
		*msg = "unknown subcommand";
		return -1;
	}
	q->op = (enum proto_op)k;
	d = &proto_ops[k];
	if (argc < d->minw || argc > d->maxw) {
		if (d->maxw == 0)
			snprintf(m, sizeof(m), "%s: extra words", d->name);
		else
			snprintf(m, sizeof(m), "%s: expected %s", d->name,
			    d->args);
		*msg = m;
		return -1;
	}
	switch (q->op) {
	case PROTO_REGISTER:
		return decode_register(q, argc, argv, msg);
	case PROTO_NEXT:
	case PROTO_FINISH:
		return decode_item_req(q, argc, argv, msg);
	default:
		return decode_other(q, argc, argv, msg);
	}
}

int
proto_decode_line(struct proto_req *q, char *line, size_t len,
    const char **msg)
{
	char	*words[PROTO_MAXWORDS], *p;
	int	 k, nw = 0, maxw;

	proto_req_init(q, PROTO_REGISTER);
	if (memchr(line, '\0', len) != NULL) {
		*msg = "serve: a request holds a NUL byte";
		return -1;
	}
	if ((p = strchr(line, ' ')) != NULL)
		*p++ = '\0';
	if ((k = proto_op_find(line)) == -1 ||
	    !(proto_ops[k].flags & PROTO_F_SERVE)) {
		*msg = "serve: unknown request";
		return -1;
	}
	/* the last word the operation takes runs to the end of the line */
	maxw = proto_ops[k].maxw;
	if (maxw == 0 && p != NULL) {
		*msg = "serve: extra words";
		return -1;
	}
	while (p != NULL && nw < maxw) {
		words[nw++] = p;
		if (nw < maxw && (p = strchr(p, ' ')) != NULL)
			*p++ = '\0';
	}
	return proto_decode_argv(q, line, nw, words, msg);
}

static int
add_num(struct proto_words *w, const char *fmt, long long v)
{
	char	 s[32];

	snprintf(s, sizeof(s), fmt, v);
	return buf_add(&w->store, s, strlen(s) + 1);
}

static int
add_word(struct proto_words *w, const char *s)
{
	return buf_add(&w->store, s, strlen(s) + 1);
}

static int
add_status(struct proto_words *w, const struct proto_item *it)
{
	static const char *const named[] = { "release", "lost", "killed",
	    "start" };
	int	 r = 0;

	if (it->status < 0 && it->status >= PROTO_ST_START)
		r |= buf_adds(&w->store, named[-it->status - 1]);
	else if (it->status < 0 || it->status > 255)
		return -1;
	else
		r |= buf_printf(&w->store, "%d", it->status);
	if (it->times)
		r |= buf_printf(&w->store, ",s=%lld,e=%lld", it->ago_start,
		    it->ago_end);
	if (it->log != NULL && *it->log != '\0' && it->status >= 0) {
		if (strpbrk(it->log, " \t\r\n") != NULL)
			return -1;
		r |= buf_printf(&w->store, ",log=%s", it->log);
	}
	return r != 0 ? -1 : buf_addc(&w->store, '\0');
}

/* The words of q, NUL-separated in w->store; returns how many, or -1. */
static int
encode_store(const struct proto_req *q, struct proto_words *w)
{
	const struct proto_item *it = &q->item;
	int	 i, n = 0, r = 0;

	switch (q->op) {
	case PROTO_REGISTER:
		if (has_break(q->name))
			return -1;
		r |= q->worker >= 0 ? add_num(w, "%lld", q->worker) :
		    add_word(w, "-");
		r |= add_word(w, q->name != NULL ? q->name : "");
		n = 2;
		break;
	case PROTO_NEXT:
	case PROTO_FINISH:
		r |= buf_printf(&w->store, "%ld", q->worker);
		if (q->seq >= 0)
			r |= buf_printf(&w->store, "/%lld", q->seq);
		if (q->retries >= 0)
			r |= buf_printf(&w->store, ",r=%ld", q->retries);
		if (q->machine != 0 && q->op == PROTO_NEXT)
			r |= buf_printf(&w->store, ",m=%llx", q->machine);
		if (q->batch > 0 && q->op == PROTO_NEXT)
			r |= buf_printf(&w->store, ",b=%ld", q->batch);
		if (q->nmore > 0)
			r |= buf_printf(&w->store, ",n=%d", q->nmore);
		r |= buf_addc(&w->store, '\0');
		n = 1;
		if (q->op == PROTO_NEXT) {
			r |= add_num(w, "%lld", (long long)q->pos);
			n++;
		}
		if (q->op == PROTO_NEXT && !q->has_item)
			break;
		if (it->text == NULL || has_lf(it->text))
			return -1;
		r |= add_word(w, it->init ? "init" : "task");
		r |= add_num(w, "%lld", (long long)it->line);
		r |= add_status(w, it);
		r |= add_word(w, it->text);
		n += 4;
		break;
	case PROTO_RESET:
		if (q->from > 0)
			r |= add_num(w, "%lld", (long long)q->from), n++;
		if (q->failed)
			r |= add_word(w, "--failed"), n++;
		break;
	case PROTO_ADD:
		if (q->command != NULL) {
			if (has_break(q->command))
				return -1;
			r |= add_word(w, q->command), n++;
		}
		break;
	case PROTO_STATUS:
		if (q->json)
			r |= add_word(w, "--json"), n++;
		if (q->color)
			r |= add_word(w, "--color"), n++;
		if (q->width > 0)
			r |= buf_printf(&w->store, "--width=%d", q->width) |
			    buf_addc(&w->store, '\0'), n++;
		if (q->all)
			r |= add_word(w, "--all"), n++;
		break;
	case PROTO_SERVE:
		if (q->hold > 0)
			r |= add_num(w, "%lld", q->hold), n++;
		break;
	case PROTO_LOG:
	case PROTO_LOGREAD:
		if (q->op == PROTO_LOG)
			r |= add_num(w, "%lld", q->worker), n++;
		r |= add_num(w, "%lld", (long long)q->log_line), n++;
		if (q->op == PROTO_LOGREAD)
			r |= add_num(w, "%lld", q->worker), n++;
		r |= add_word(w, q->log_err ? "err" : "log"), n++;
		if (q->op == PROTO_LOG)
			r |= add_num(w, "%lld", q->log_cap), n++;
		r |= add_num(w, "%lld", q->log_off), n++;
		r |= add_num(w, "%lld", q->log_size), n++;
		if (q->op == PROTO_LOG && q->log_end)
			r |= add_word(w, "end"), n++;
		break;
	case PROTO_LOGS:
		r |= add_num(w, "%lld", (long long)q->log_line), n++;
		break;
	case PROTO_KILL:
		if (q->nlines < 1 || q->nlines > PROTO_MAXLINES)
			return -1;
		for (i = 0; i < q->nlines; i++)
			r |= buf_printf(&w->store, "%s%zu", i ? "," : "",
			    q->lines[i]);
		r |= buf_addc(&w->store, '\0');
		n++;
		break;
	case PROTO_HEARTBEAT:
	case PROTO_BYE:
		r |= add_num(w, "%lld", q->worker), n++;
		if (q->op == PROTO_HEARTBEAT && q->lease > 0)
			r |= add_num(w, "%lld", q->lease), n++;
		break;
	default:
		break;
	}
	return r != 0 ? -1 : n;
}

/* The words of q; items after it (more_ok: a session's) or -1. */
static int
encode_words(const struct proto_req *q, struct proto_words *w, int more_ok)
{
	const char	*s;
	int		 i, n;

	memset(w, 0, sizeof(*w));
	if ((unsigned)q->op >= PROTO_NOPS || (q->nmore > 0 && !more_ok) ||
	    q->nmore < 0 || q->nmore > PROTO_MAXBATCH)
		return -1;
	w->op = proto_ops[q->op].name;
	if ((n = encode_store(q, w)) == -1 || buf_grow(&w->store, 0) == -1)
		return -1;
	for (i = 0, s = w->store.s; i < n; i++, s += strlen(s) + 1)
		w->w[i] = s;
	w->n = n;
	return 0;
}

int
proto_encode_words(const struct proto_req *q, struct proto_words *w)
{
	return encode_words(q, w, 0);
}

void
proto_words_free(struct proto_words *w)
{
	buf_free(&w->store);
	memset(w, 0, sizeof(*w));
}

/* One of the item lines after a request: "init|task LINE STATUS TEXT". */
static int
encode_more(const struct proto_item *it, struct buf *out)
{
	struct proto_words w;
	int		 r;

	memset(&w, 0, sizeof(w));
	if (it->text == NULL || has_lf(it->text))
		return -1;
	r = add_status(&w, it) | buf_grow(&w.store, 0);
	if (r == 0)
		r = buf_printf(out, "%s %zu %s ", it->init ? "init" : "task",
		    it->line, w.store.s) | buf_adds(out, it->text) |
		    buf_addc(out, '\n');
	proto_words_free(&w);
	return r != 0 ? -1 : 0;
}

int
proto_encode_line(const struct proto_req *q, struct buf *out)
{
	struct proto_words w;
	int		 i, r;

	if ((r = encode_words(q, &w, 1)) == 0) {
		r |= buf_adds(out, w.op);
		for (i = 0; i < w.n; i++) {
			/* only the last word may hold a space */
			if (i + 1 < w.n && strchr(w.w[i], ' ') != NULL)
				r = -1;
			r |= buf_addc(out, ' ');
			r |= buf_adds(out, w.w[i]);
		}
		r |= buf_addc(out, '\n');
	}
	proto_words_free(&w);
	for (i = 0; r == 0 && i < q->nmore; i++)
		r |= encode_more(&q->more[i], out);
	return r != 0 ? -1 : 0;
}

int
proto_decode_more(char *line, struct proto_item *it, const char **msg)
{
	char	*av[4];
	int	 i;

	*msg = "an item after the request must be init|task, a line "
	    "number, a status and one line of text";
	memset(it, 0, sizeof(*it));
	for (i = 0; i < 3; i++) {
		av[i] = line;
		if ((line = strchr(line, ' ')) == NULL)
			return -1;
		*line++ = '\0';
	}
	av[3] = line;
	return item_words(av, it);
}

const char *
proto_hello(void)
{
	static char	 s[32];

	snprintf(s, sizeof(s), "hello %d\n", PROTO_VERSION);
	return s;
}

int
proto_hello_ok(const char *line)
{
	const char	*h = proto_hello();

	return strncmp(line, h, strlen(h) - 1) == 0 &&
	    line[strlen(h) - 1] == '\0';
}

/* ------------------------------------------------------------------ */
/* replies */

static int
encode_item(struct buf *out, const struct proto_reply *r, int i)
{
	const struct proto_item *it = &r->item[i];
	size_t	 len = r->textlen[i];

	if (memchr(it->text, '\n', len) != NULL)
		return -1;
	return buf_printf(out, "%s %zu ", it->init ? "init" : "task",
	    it->line) | buf_add(out, it->text, len) | buf_addc(out, '\n');
}

int
proto_encode_reply(const struct proto_reply *r, struct buf *out)
{
	static const char *const kinds[] = { "work", "wait", "none", "id",
	    "ok", "locked", "error", "lost", "kill" };
	const char	*p;
	int		 i, e = 0;

	e |= buf_printf(out, PROTO_MAGIC " %s", kinds[r->kind]);
	switch (r->kind) {
	case PROTO_WORK:
	case PROTO_WAIT:
	case PROTO_NONE:
		e |= buf_printf(out, " %zu %s %d\n", r->pos, fins[r->fin],
		    r->nitems);
		for (i = 0; i < r->nitems && i < PROTO_MAXITEMS; i++)
			e |= encode_item(out, r, i);
		return e != 0 || r->nitems > PROTO_MAXITEMS ? -1 : 0;
	case PROTO_ID:
		e |= buf_printf(out, " %ld", r->id);
		break;
	case PROTO_KILLREQ:
		e |= buf_printf(out, " %zu", r->pos);
		break;
	case PROTO_OK:
		if (r->okw == PROTO_OK_ADDED || r->okw == PROTO_OK_KEPT)
			e |= buf_printf(out, " %s %lld", r->okw ==
			    PROTO_OK_ADDED ? "added" : "kept", r->count);
		else if (r->okw == PROTO_OK_SIZE)
			e |= buf_printf(out, " %lld", r->count);
		else if (r->okw == PROTO_OK_VERSION)
			e |= buf_printf(out, " rtq-claim %s protocol %d",
			    r->version, r->protocol);
		else if (r->okw == PROTO_OK_TALLY) {
			const struct proto_tally *t = &r->tally;

			e |= buf_printf(out, " tally %lld %lld %lld %lld %lld "
			    "%lld %lld %lld", t->done, t->failed, t->killed,
			    t->blocked, t->retry, t->pending, t->running,
			    t->paused);
		}
		break;
	case PROTO_ERROR:
		e |= buf_printf(out, " %d ", r->code);
		for (p = r->msg; p != NULL && *p != '\0'; p++)
			e |= buf_addc(out, *p == '\n' || *p == '\r' ? ' ' :
			    *p);
		break;
	default:
		break;
	}
	return e != 0 || buf_addc(out, '\n') == -1 ? -1 : 0;
}

const char *
proto_find_head(const char *s, size_t len)
{
	const char	*end = s + len, *nl;

	while (s != NULL && s < end) {
		if ((size_t)(end - s) >= MAGIC_LEN &&
		    memcmp(s, PROTO_MAGIC " ", MAGIC_LEN) == 0)
			return s;
		nl = memchr(s, '\n', (size_t)(end - s));
		s = nl != NULL ? nl + 1 : NULL;
	}
	return NULL;
}

/* The next space-separated word of *p into w (NUL-terminated copy). */
static int
word(const char **p, char *w, size_t len)
{
	size_t	 n = strcspn(*p, " ");

	if (n == 0 || n >= len)
		return -1;
	memcpy(w, *p, n);
	w[n] = '\0';
	*p += n;
	if (**p == ' ')
		(*p)++;
	else if (**p != '\0')
		return -1;
	return 0;
}

static int
head_claim(const char *p, struct proto_reply *r)
{
	char	 w[32];
	long	 v;
	int	 i;

	if (word(&p, w, sizeof(w)) == -1 || num_z(w, &r->pos) == -1 ||
	    word(&p, w, sizeof(w)) == -1)
		return -1;
	for (i = 0; i < 4 && strcmp(w, fins[i]) != 0; i++)
		;
	if (i == 4 || word(&p, w, sizeof(w)) == -1 || num(w, &v) == -1 ||
	    *p != '\0')
		return -1;
	r->fin = (enum proto_fin)i;
	r->nitems = (int)v;
	if (r->kind == PROTO_WORK)
		return v >= 1 && v <= PROTO_MAXITEMS ? 0 : -1;
	return v == 0 ? 0 : -1;
}

static int
head_ok(const char *p, struct proto_reply *r)
{
	char		 w[32];
	long long	 v;
	long		 pv;

	r->okw = PROTO_OK_PLAIN;
	if (*p == '\0')
		return 0;
	if (word(&p, w, sizeof(w)) == -1)
		return -1;
	if (strcmp(w, "added") == 0 || strcmp(w, "kept") == 0) {
		r->okw = w[0] == 'a' ? PROTO_OK_ADDED : PROTO_OK_KEPT;
		return num_ll(p, strlen(p), SEQ_DIGITS, &r->count);
	}
	if (strcmp(w, "tally") == 0) {
		long long *v[8];
		int	 i;

		v[0] = &r->tally.done;
		v[1] = &r->tally.failed;
		v[2] = &r->tally.killed;
		v[3] = &r->tally.blocked;
		v[4] = &r->tally.retry;
		v[5] = &r->tally.pending;
		v[6] = &r->tally.running;
		v[7] = &r->tally.paused;
		r->okw = PROTO_OK_TALLY;
		for (i = 0; i < 8; i++)
			if (word(&p, w, sizeof(w)) == -1 ||
			    num_ll(w, strlen(w), SEQ_DIGITS, v[i]) == -1)
				return -1;
		return *p == '\0' ? 0 : -1;
	}
	if (strcmp(w, "rtq-claim") == 0) {
		r->okw = PROTO_OK_VERSION;
		if (word(&p, r->version, sizeof(r->version)) == -1 ||
		    strncmp(p, "protocol ", 9) != 0 || num(p + 9, &pv) == -1)
			return -1;
		r->protocol = (int)pv;
		return 0;
	}
	r->okw = PROTO_OK_SIZE;
	if (num_ll(w, strlen(w), SEQ_DIGITS, &v) == -1 || *p != '\0')
		return -1;
	r->count = v;
	return 0;
}

int
proto_decode_head(const char *line, struct proto_reply *r)
{
	static const struct { const char *w; enum proto_kind k; } kinds[] = {
		{ "work", PROTO_WORK }, { "wait", PROTO_WAIT },
		{ "none", PROTO_NONE }, { "id", PROTO_ID }, { "ok", PROTO_OK },
		{ "locked", PROTO_LOCKED }, { "error", PROTO_ERROR },
		{ "lost", PROTO_LOST }, { "kill", PROTO_KILLREQ }
	};
	const char	*p;
	char		 w[16];
	long		 v;
	size_t		 i;

	memset(r, 0, sizeof(*r));
	if (strncmp(line, PROTO_MAGIC " ", MAGIC_LEN) != 0)
		return -1;
	p = line + MAGIC_LEN;
	if (word(&p, w, sizeof(w)) == -1)
		return -1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(w, kinds[i].w) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return -1;
	r->kind = kinds[i].k;
	switch (r->kind) {
	case PROTO_WORK:
	case PROTO_WAIT:
	case PROTO_NONE:
		return head_claim(p, r);
	case PROTO_ID:
		return num(p, &r->id);
	case PROTO_KILLREQ:
		return num_z(p, &r->pos) == -1 || r->pos == 0 ? -1 : 0;
	case PROTO_OK:
		return head_ok(p, r);
	case PROTO_ERROR:
		if (word(&p, w, sizeof(w)) == -1 || num(w, &v) == -1)
			return -1;
		r->code = (int)v;
		r->msg = p;
		return 0;
	default:
		return *p == '\0' ? 0 : -1;
	}
}

int
proto_decode_item(const char *line, struct proto_reply *r, int i)
{
	struct proto_item *it = &r->item[i];
	const char	*p;
	char		 w[16];

	memset(it, 0, sizeof(*it));
	p = line;
	if (i < 0 || i >= PROTO_MAXITEMS || word(&p, w, sizeof(w)) == -1)
		return -1;
	if (strcmp(w, "init") == 0)
		it->init = 1;
	else if (strcmp(w, "task") != 0)
		return -1;
	if (word(&p, w, sizeof(w)) == -1 || num_z(w, &it->line) == -1 ||
	    it->line == 0 || p[-1] != ' ')
		return -1;
	it->text = p;
	r->textlen[i] = strlen(p);
	return 0;
}

int
proto_decode_reply(char *buf, size_t len, struct proto_reply *r)
{
	char	*p, *nl, *end = buf + len;
	int	 i;

	memset(r, 0, sizeof(*r));
	if (buf == NULL || (p = (char *)proto_find_head(buf, len)) == NULL ||
	    (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return -1;
	*nl = '\0';
	if (proto_decode_head(p, r) == -1)
		return -1;
	for (i = 0; i < r->nitems; i++) {
		p = nl + 1;
		if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) ==
		    NULL)
			return -1;
		*nl = '\0';
		if (proto_decode_item(p, r, i) == -1)
			return -1;
	}
	r->body = nl + 1;
	r->bodylen = (size_t)(end - (nl + 1));
	return 0;
}

const char *
proto_fin_name(enum proto_fin f)
{
	return (unsigned)f < 4 ? fins[f] : "none";
}
