/*
 * view: what --plan and --timeline share; see view.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fdio.h"
#include "proto.h"
#include "sig.h"
#include "view.h"

int
view_fetch(struct worker *w, struct buf *b)
{
	struct proto_req q;
	struct tp_reply	 r;
	int		 rv = 0;

	proto_req_init(&q, PROTO_CAT);
	if (client_call(w, &q, -1, &r) != TP_OK)
		return 1;
	/* "RTQ1 ok SIZE", then the file */
	if (r.p.okw != PROTO_OK_SIZE || r.p.count < 0 ||
	    (unsigned long long)r.p.count > r.p.bodylen) {
		say("short reply from rtq-claim cat for %s", w->where);
		rv = 1;
	} else if (buf_add(b, r.p.body, (size_t)r.p.count) == -1 ||
	    buf_grow(b, 0) == -1) {
		say("out of memory");
		rv = 1;
	}
	tp_reply_free(&r);
	return rv;
}

/* Length of the well-formed UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t	 need, k;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 2;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3;
	else
		return 0;
	if (need >= n)
		return 0;
	for (k = 1; k <= need; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return need + 1;
}

void
view_json_str(struct buf *b, const char *s, size_t n)
{
	size_t		 i = 0, k;
	unsigned char	 c;

	buf_addc(b, '"');
	while (i < n) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			buf_addc(b, (char)c);
			i++;
		} else if ((k = utf8_len((const unsigned char *)s + i,
		    n - i)) > 0) {
			buf_add(b, s + i, k);
			i += k;
		} else {
			buf_adds(b, "\\ufffd");
			i++;
		}
	}
	buf_addc(b, '"');
}

void
view_xml_str(struct buf *b, const char *s, size_t n)
{
	size_t		 i = 0, k;
	unsigned char	 c;

	while (i < n) {
		c = (unsigned char)s[i];
		switch (c) {
		case '<': buf_adds(b, "&lt;"); i++; continue;
		case '>': buf_adds(b, "&gt;"); i++; continue;
		case '&': buf_adds(b, "&amp;"); i++; continue;
		case '"': buf_adds(b, "&quot;"); i++; continue;
		case '\'': buf_adds(b, "&apos;"); i++; continue;
		case '\t': buf_addc(b, ' '); i++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			/* not allowed in XML 1.0 */
			buf_addc(b, '?');
			i++;
		} else if (c < 0x80) {
			buf_addc(b, (char)c);
			i++;
		} else if ((k = utf8_len((const unsigned char *)s + i,
		    n - i)) > 0) {
			buf_add(b, s + i, k);
			i += k;
		} else {
			buf_adds(b, "\xef\xbf\xbd");
			i++;
		}
	}
}

int
view_print(const struct buf *b)
{
	if (buf_failed(b)) {
		say("out of memory");
		return 1;
	}
	if (b->len > 0 && fdio_write_all(STDOUT_FILENO, b->s, b->len) == -1) {
		say("writing to standard output: %s", strerror(errno));
		return 1;
	}
	return 0;
}
