/*
 * taskfile: split, classify and read the lines of a task file.  See
 * taskfile.h for the line kinds and the annotation format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "taskfile.h"

#define ANN_MARK	" # worker "
#define ANN_MARKLEN	(sizeof(ANN_MARK) - 1)
#define PAUSE_MARK	"#PAUSED"
#define PAUSE_MARKLEN	(sizeof(PAUSE_MARK) - 1)

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *
mem_find(const char *s, size_t len, const char *pat, size_t patlen)
{
	const char	*p, *end = s + len;

	if (patlen == 0 || len < patlen)
		return NULL;
	for (p = s; (size_t)(end - p) >= patlen; p++) {
		if ((p = memchr(p, pat[0], (size_t)(end - p) - patlen + 1)) == NULL)
			return NULL;
		if (memcmp(p, pat, patlen) == 0)
			return p;
	}
	return NULL;
}

int
tf_parse_id(const char *s, size_t len, long *id)
{
	long	 v = 0;
	size_t	 i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*id = v;
	return 0;
}

/*
 * The line offsets of the last file freed, kept for the next split: a
 * process that splits one big file again and again (rtq-claim serve, a
 * claim a request) would otherwise fault in megabytes of fresh pages
 * each time, which costs more than the split itself.  Reachable, so not
 * a leak; never more than one array.  While a split holds it, spare is
 * NULL and spare_cap 0, so that tf_free keeps it again.
 */
static size_t	*spare;
static size_t	 spare_cap;

/*
 * Splitting reads the buffer sixteen bytes at a time where the CPU has
 * SSE2 (every x86-64), then eight at a time (elsewhere, and the last
 * bytes of every buffer), then one: a memchr a line costs more than the
 * line's bytes when lines are short (a million lines of "echo task N; true"
 * took 40 ms that way, 4 with words, 1.5 with SSE2).
 */
#define ONES	((uint64_t)0x0101010101010101ULL)
#define HIGHS	((uint64_t)0x8080808080808080ULL)

/* Bytes p[0..8) as a number, p[0] the lowest byte, whatever the CPU. */
static uint64_t
load_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* 0x80 in each byte of x that is zero, 0 in the others (exact). */
static uint64_t
zero_bytes(uint64_t x)
{
	return ~(((x & ~HIGHS) + ~HIGHS) | x | ~HIGHS);
}

/* The index of the lowest byte marked in m (nonzero, from zero_bytes). */
static size_t
first_byte(uint64_t m)
{
#if defined(__GNUC__) || defined(__clang__)
	return (size_t)__builtin_ctzll(m) >> 3;
#else
	size_t	 i;

	for (i = 0; (m & 0x80) == 0; i++)
		m >>= 8;
	return i;
#endif
}

/* Room for k more offsets in f->off (k <= 16).  0, or -1 (memory). */
static int
off_room(struct tf_file *f, size_t n, size_t k)
{
	size_t	*o, cap;

	if (f->cap - n >= k)
		return 0;
	cap = f->cap * 2;
	if ((o = realloc(f->off, cap * sizeof(*o))) == NULL)
		return -1;
	f->off = o;
	f->cap = cap;
	return 0;
}

int
tf_split(struct tf_file *f, const char *buf, size_t size, char *err,
    size_t errlen)
{
	const unsigned char *u = (const unsigned char *)buf;
	const char	*p, *end;
	uint64_t	 w, nl;
	size_t		 i, n, cap;

	memset(f, 0, sizeof(*f));
	cap = size / 32 + 1024;		/* most lines are longer than that */
	if (spare != NULL) {
		/*
		 * The array of the last split, whatever its size (the file
		 * grows a little with each claim): its pages are touched
		 * already, and off_room doubles it if need be.
		 */
		f->off = spare;
		cap = spare_cap;
		spare = NULL;
		spare_cap = 0;
	} else if ((f->off = malloc(cap * sizeof(*f->off))) == NULL)
		goto nomem;
	f->cap = cap;
	n = 0;
	f->off[n++] = 0;
	i = 0;
#if defined(__SSE2__)
	/* sixteen bytes at a time: their line breaks, and whether a NUL */
	{
		const __m128i	 lf = _mm_set1_epi8('\n');
		const __m128i	 zero = _mm_setzero_si128();
		__m128i		 v;
		unsigned	 m;

		for (; size - i >= 16; i += 16) {
			v = _mm_loadu_si128((const __m128i *)(const void *)
			    (u + i));
			if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)) != 0)
				goto nul;
			m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf));
			if (m == 0)
				continue;
			if (off_room(f, n, 16) == -1)
				goto nomem;
			do {
				f->off[n++] = i + (size_t)__builtin_ctz(m) + 1;
				m &= m - 1;
			} while (m != 0);
		}
	}
#endif
	/* a word at a time: its line breaks, and whether it holds a NUL */
	for (; size - i >= 8; i += 8) {
		w = load_le64(u + i);
		nl = zero_bytes(w ^ ONES * '\n');
		if (zero_bytes(w) != 0)
			goto nul;
		if (nl == 0)
			continue;
		if (off_room(f, n, 8) == -1)
			goto nomem;
		do {
			f->off[n++] = i + first_byte(nl) + 1;
			nl &= nl - 1;
		} while (nl != 0);
	}
	for (; i < size; i++) {
		if (buf[i] == '\0')
			goto nul;
		if (buf[i] == '\n') {
			if (off_room(f, n, 1) == -1)
				goto nomem;
			f->off[n++] = i + 1;
		}
	}
	/* a last line without its line break */
	if (size > 0 && buf[size - 1] != '\n') {
		if (off_room(f, n, 1) == -1)
			goto nomem;
		f->off[n++] = size;
	}
	f->buf = buf;
	f->size = size;
	f->nline = n - 1;
	f->eol = "\n";
	if (f->nline > 0) {
		size_t l0 = tf_linelen(f, 0);

		if (f->off[1] - f->off[0] == l0 + 2)
			f->eol = "\r\n";
	}
	return 0;
nul:
	tf_free(f);
	memset(f, 0, sizeof(*f));
	p = memchr(buf, '\0', size);
	for (n = 1, end = buf; end < p; end++)
		n += *end == '\n';
	snprintf(err, errlen, "line %zu holds a NUL byte: this is not "
	    "a text file", n);
	return -1;
nomem:
	free(f->off);
	memset(f, 0, sizeof(*f));
	snprintf(err, errlen, "out of memory splitting %zu bytes", size);
	return -1;
}

void
tf_free(struct tf_file *f)
{
	/* the largest array is kept for the next split (see spare) */
	if (f->off != NULL && f->cap > spare_cap) {
		free(spare);
		spare = f->off;
		spare_cap = f->cap;
	} else
		free(f->off);
	f->off = NULL;
	f->nline = 0;
}

size_t
tf_linelen(const struct tf_file *f, size_t i)
{
	size_t	 a = f->off[i], b = f->off[i + 1];

	if (b > a && f->buf[b - 1] == '\n') {
		b--;
		if (b > a && f->buf[b - 1] == '\r')
			b--;
	}
	return b - a;
}

size_t
tf_rstrip(const char *s, size_t len)
{
	while (len > 0 && is_space(s[len - 1]))
		len--;
	return len;
}

const char *
tf_comment(const char *s, size_t len)
{
	size_t	 i = 0;
	int	 wordstart = 1;

	while (i < len) {
		char c = s[i];

		if (c == '\\') {
			i += 2;
		} else if (c == '\'') {
			const char *q = memchr(s + i + 1, '\'', len - i - 1);

			if (q == NULL)
				return NULL;
			i = (size_t)(q - s) + 1;
		} else if (c == '"' || (c == '$' && i + 1 < len &&
		    s[i + 1] == '\'')) {
			char close = c == '"' ? '"' : '\'';

			i += c == '"' ? 1 : 2;
			while (i < len && s[i] != close)
				i += s[i] == '\\' ? 2 : 1;
			if (i >= len)
				return NULL;
			i++;
		} else if (c == '#' && wordstart) {
			return s + i;
		} else {
			wordstart = is_space(c) || c == '\n' || c == ';' ||
			    c == '&' || c == '|' || c == '(' || c == ')' ||
			    c == '<' || c == '>';
			i++;
			continue;
		}
		wordstart = 0;
	}
	return NULL;
}

int
tf_tag_next(const char **pp, const char *end, struct tf_tag *t, char *err,
    size_t errlen)
{
	const char	*p = *pp, *q;

	while (p < end) {
		if ((p = memchr(p, '#', (size_t)(end - p))) == NULL ||
		    p + 1 >= end)
			break;
		for (q = p + 1; q < end && *q != '#' && !is_space(*q); q++)
			;
		*pp = q;
		switch (p[1]) {
		case '!':
			t->kind = TF_TAG_INIT;
			return 1;
		case '@':
			t->kind = TF_TAG_WORKER;
			if (tf_parse_id(p + 2, (size_t)(q - p - 2), &t->id)
			    == -1) {
				snprintf(err, errlen, "malformed worker tag "
				    "\"%.*s\": expected #@ and a worker id "
				    "(0 to %ld)", (int)(q - p < 40 ? q - p :
				    40), p, TF_MAXID);
				return -1;
			}
			return 1;
		case ':':
		case '+':
			t->kind = p[1] == ':' ? TF_TAG_SEQ : TF_TAG_PAR;
			t->name = p + 2;
			t->namelen = (size_t)(q - p - 2);
			return 1;
		default:
			p++;
			break;
		}
	}
	*pp = end;
	return 0;
}

/* First well-formed " # worker W # (" in s, or NULL. */
static const char *
ann_find(const char *s, size_t len)
{
	const char	*p = s, *end = s + len, *q;

	while ((p = mem_find(p, (size_t)(end - p), ANN_MARK, ANN_MARKLEN))
	    != NULL) {
		/* "worker -": a line cancelled by rtq --kill before it ran */
		q = p + ANN_MARKLEN;
		if (q < end && *q == '-')
			q++;
		else
			for (; q < end && is_digit(*q); q++)
				;
		if (q > p + ANN_MARKLEN && end - q >= 4 &&
		    memcmp(q, " # (", 4) == 0)
			return p;
		p++;		/* marks may overlap: " # worker # worker 1" */
	}
	return NULL;
}

int
tf_ann_next(const char **pp, const char *end, struct tf_ann *a)
{
	const char	*p = *pp, *q, *next, *seg, *st;

	if (p == NULL || p >= end || (p = ann_find(p, (size_t)(end - p)))
	    == NULL)
		return 0;
	q = p + ANN_MARKLEN;
	a->worker = 0;
	if (*q == '-') {
		a->worker = -1;
		q++;
	}
	while (is_digit(*q) && a->worker <= TF_MAXID)
		a->worker = a->worker * 10 + (*q++ - '0');
	q += 4;					/* " # (" */
	a->start = end - q >= TF_TIMELEN ? q : NULL;
	a->end = NULL;
	next = ann_find(q, (size_t)(end - q));
	if (next == NULL)
		next = end;
	*pp = next;
	/*
	 * After the start time: " ..." and, once closed, " END) #STATUS".
	 * Only ") #" closes it: other text after the "..." is a note (the
	 * "line+1" runtask.sh writes on a line that moved), and an
	 * annotation with a note and no end is still open.
	 */
	seg = mem_find(q, (size_t)(next - q), " ...", 4);
	seg = seg == NULL ? q : seg + 4;
	a->status = NULL;
	a->statuslen = 0;
	st = NULL;
	for (q = seg; (q = mem_find(q, (size_t)(next - q), ") #", 3)) != NULL;
	    q += 3)
		st = q + 3;
	if (st == NULL) {
		a->open = 1;
		return 1;
	}
	a->open = 0;
	/* the status word; a note may follow ("error1 log=...") */
	a->status = st;
	a->statuslen = tf_rstrip(st, (size_t)(next - st));
	if ((q = memchr(st, ' ', a->statuslen)) != NULL)
		a->statuslen = (size_t)(q - st);
	if (st - 3 - seg >= TF_TIMELEN + 1)
		a->end = st - 3 - TF_TIMELEN;
	return 1;
}

int
tf_status_ok(const char *status, size_t len)
{
	return status != NULL && len == 2 && memcmp(status, "ok", 2) == 0;
}

/* Validate tags; set *init when #! is among them. */
static int
tags_check(const struct tf_item *it, int *init, char *err, size_t errlen)
{
	const char	*p = it->tags, *end;
	struct tf_tag	 t;
	int		 r;

	*init = 0;
	if (p == NULL)
		return 0;
	end = p + it->tagslen;
	while ((r = tf_tag_next(&p, end, &t, err, errlen)) == 1)
		if (t.kind == TF_TAG_INIT)
			*init = 1;
	return r;
}

/* The header or a registration: sets it->kind. */
static int
special_comment(const char *s, size_t len, size_t lineno, struct tf_item *it)
{
	const char	*p, *end = s + len;

	if (lineno == 1 && len > 12 && memcmp(s, "#LASTWORKER ", 12) == 0) {
		p = s + 12;
		if (len == 14 && memcmp(p, "-1", 2) == 0)
			it->kind = TF_HEADER;
		else if (tf_parse_id(p, (size_t)(end - p), &it->id) == 0)
			it->kind = TF_HEADER;
		return 1;
	}
	if (len >= PAUSE_MARKLEN && memcmp(s, PAUSE_MARK, PAUSE_MARKLEN) == 0 &&
	    (len == PAUSE_MARKLEN || s[PAUSE_MARKLEN] == ' ')) {
		it->kind = TF_PAUSE;
		return 1;
	}
	if (len > 9 && memcmp(s, "# worker ", 9) == 0) {
		for (p = s + 9; p < end && is_digit(*p); p++)
			;
		if (p < end && *p == ':' &&
		    tf_parse_id(s + 9, (size_t)(p - s - 9), &it->id) == 0)
			it->kind = TF_REGISTRATION;
		return 1;
	}
	return 0;
}

/* "#?line:N# ...": what rtq-claim appends; never a claimed task. */
static int
is_orphan(const char *s, size_t len)
{
	size_t	 i;

	if (len < 10 || memcmp(s, "#?line:", 7) != 0)
		return 0;
	const char	*p, *q, *last = NULL, *end = s + len;

	for (i = 7; i < len && is_digit(s[i]); i++)
		;
	/* a tab instead of the blank: rtq supplied the line break before it */
	if (i == 7 || i + 1 >= len || s[i] != '#' || (s[i + 1] != ' ' &&
	    s[i + 1] != '\t'))
		return 0;
	/*
	 * It ends in " # worker W # ... END) #STATUS"; a claimed task that
	 * happens to start with "?line:N# " ends in " # worker W # (START".
	 */
	for (p = s; (p = mem_find(p, (size_t)(end - p), ANN_MARK,
	    ANN_MARKLEN)) != NULL; p++)
		last = p;
	if (last == NULL)
		return 0;
	for (q = last + ANN_MARKLEN; q < end && is_digit(*q); q++)
		;
	return end - q >= 6 && memcmp(q, " # ...", 6) == 0;
}

int
tf_classify(const char *s, size_t len, size_t lineno, struct tf_item *it,
    char *err, size_t errlen)
{
	const char	*p, *end = s + len;
	struct tf_ann	 a;
	size_t		 i;
	int		 init, commented = 0;

	memset(it, 0, sizeof(*it));
	it->worker = -1;
	it->id = -1;
	it->text = s;
	it->textlen = len;
	for (i = 0; i < len && (is_space(s[i])); i++)
		;
	if (i == len) {
		it->kind = TF_BLANK;
		return 0;
	}
	it->kind = TF_COMMENT;
	if (s[i] == '#' && i > 0)
		return 0;
	if (s[0] == '#') {
		/*
		 * An orphan report may quote any text; then a claimed task:
		 * "LASTWORKER 1" or " worker 3: x" are tasks too, once
		 * commented out.
		 */
		if (is_orphan(s, len)) {
			it->kind = TF_ORPHAN;
			return 0;
		}
		if (ann_find(s + 1, len - 1) == NULL &&
		    special_comment(s, len, lineno, it))
			return 0;
		s++;
		len--;
		commented = 1;
		/* a claimed task never starts with '#' (that was a comment) */
		for (i = 0; i < len && is_space(s[i]); i++)
			;
		if (i == len || s[i] == '#')
			return 0;
	}
	it->text = s;
	it->textlen = len;
	if ((it->ann = ann_find(s, len)) != NULL) {
		it->textlen = (size_t)(it->ann - s);
		it->annlen = (size_t)(end - it->ann);
		p = it->ann;
		while (tf_ann_next(&p, end, &a) == 1) {
			it->worker = a.worker;
			it->open = a.open;
			it->status = a.status;
			it->statuslen = a.statuslen;
		}
	}
	if ((it->tags = tf_comment(it->text, it->textlen)) != NULL)
		it->tagslen = (size_t)(it->text + it->textlen - it->tags);
	if (commented) {
		/* a commented line: a claimed task, or a comment */
		if (it->ann == NULL)
			return 0;
		if (it->open)
			it->kind = TF_RUNNING;
		else if (tf_status_ok(it->status, it->statuslen))
			it->kind = TF_DONE;
		else
			it->kind = TF_GIVENUP;
		if (it->kind != TF_RUNNING)
			return 0;
		return tags_check(it, &init, err, errlen);
	}
	if (tags_check(it, &init, err, errlen) == -1)
		return -1;
	if (init)
		it->kind = TF_INIT;
	else if (it->ann != NULL && !it->open &&
	    !tf_status_ok(it->status, it->statuslen))
		it->kind = TF_FAILED;
	else
		it->kind = TF_PENDING;
	return 0;
}

int
tf_affinity(const struct tf_item *it, long w)
{
	const char	*p = it->tags;
	struct tf_tag	 t;
	char		 err[8];
	int		 any = 0;

	if (p == NULL)
		return 1;
	while (tf_tag_next(&p, it->tags + it->tagslen, &t, err, sizeof(err))
	    == 1) {
		if (t.kind != TF_TAG_WORKER)
			continue;
		if (t.id == w)
			return 1;
		any = 1;
	}
	return !any;
}

int
tf_tried_by(const struct tf_item *it, long w)
{
	const char	*p = it->ann;
	struct tf_ann	 a;

	if (p == NULL)
		return 0;
	while (tf_ann_next(&p, it->ann + it->annlen, &a) == 1)
		if (a.worker == w && !a.open &&
		    !tf_status_ok(a.status, a.statuslen))
			return 1;
	return 0;
}

int
tf_duration(const char *s, size_t len, double *secs)
{
	double	 v = 0, scale = 1, frac = 0.1;
	size_t	 i = 0;
	int	 digits = 0, dot = 0;

	for (; i < len && (is_digit(s[i]) || (s[i] == '.' && !dot)); i++) {
		if (s[i] == '.') {
			dot = 1;
			continue;
		}
		digits++;
		if (dot) {
			v += (s[i] - '0') * frac;
			frac /= 10;
		} else
			v = v * 10 + (s[i] - '0');
	}
	if (digits == 0 || len - i > 1)
		return -1;
	if (i < len) {
		switch (s[i]) {
		case 's': scale = 1; break;
		case 'm': scale = 60; break;
		case 'h': scale = 3600; break;
		case 'd': scale = 86400; break;
		default: return -1;
		}
	}
	*secs = v * scale;
	return *secs > 0 ? 0 : -1;
}

int
tf_timeout(const char *text, size_t len, double *secs)
{
	const char	*c = tf_comment(text, len), *end = text + len, *q;

	for (; c != NULL && c < end; c++) {
		if ((c = memchr(c, '#', (size_t)(end - c))) == NULL)
			break;
		if ((size_t)(end - c) < 9 || memcmp(c, "#timeout=", 9) != 0)
			continue;
		for (q = c + 9; q < end && *q != '#' && !is_space(*q); q++)
			;
		return tf_duration(c + 9, (size_t)(q - c - 9), secs) == 0 ?
		    1 : -1;
	}
	return 0;
}

int
tf_retries(const char *text, size_t len, long *n)
{
	const char	*c = tf_comment(text, len), *end = text + len, *q;

	for (; c != NULL && c < end; c++) {
		if ((c = memchr(c, '#', (size_t)(end - c))) == NULL)
			break;
		if ((size_t)(end - c) < 9 || memcmp(c, "#retries=", 9) != 0)
			continue;
		for (q = c + 9; q < end && *q != '#' && !is_space(*q); q++)
			;
		if (q == c + 9 || q - c - 9 > 4)
			return -1;
		for (*n = 0, c += 9; c < q; c++) {
			if (!is_digit(*c))
				return -1;
			*n = *n * 10 + (*c - '0');
		}
		return *n <= TF_MAXRETRIES ? 1 : -1;
	}
	return 0;
}

size_t
tf_failures(const struct tf_item *it)
{
	const char	*p = it->ann;
	struct tf_ann	 a;
	size_t		 n = 0;

	if (p == NULL)
		return 0;
	while (tf_ann_next(&p, it->ann + it->annlen, &a) == 1)
		if (!a.open && !tf_status_ok(a.status, a.statuslen) &&
		    !(a.statuslen == 4 && memcmp(a.status, "lost", 4) == 0))
			n++;
	return n;
}

int
tf_status_is(const char *status, size_t len, const char *word)
{
	return status != NULL && len == strlen(word) &&
	    memcmp(status, word, len) == 0;
}
