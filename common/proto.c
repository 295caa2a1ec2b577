#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "proto.h"

static int
num(const char **p, long *v)
{
	char	*end;

	if (**p < '0' || **p > '9')
		return -1;
	*v = strtol(*p, &end, 10);
	*p = end;
	return 0;
}

int
proto_head(const char *line, struct proto_head *h)
{
	static const struct { const char *w; enum proto_kind k; } kinds[] = {
		{ "work ", PROTO_WORK }, { "wait ", PROTO_WAIT },
		{ "none ", PROTO_NONE }, { "id ", PROTO_ID },
		{ "ok", PROTO_OK }, { "locked", PROTO_LOCKED },
		{ "error ", PROTO_ERROR }, { "lost", PROTO_LOST }
	};
	const char	*p;
	long		 v;
	size_t		 i, n;

	memset(h, 0, sizeof(*h));
	if (strncmp(line, PROTO_MAGIC " ", 5) != 0)
		return -1;
	p = line + 5;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i].w);
		if (strncmp(p, kinds[i].w, n) == 0)
			break;
	}
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return -1;
	h->kind = kinds[i].k;
	p += n;
	switch (h->kind) {
	case PROTO_WORK:
	case PROTO_WAIT:
	case PROTO_NONE:
		if (num(&p, &v) == -1 || *p++ != ' ')
			return -1;
		h->pos = (size_t)v;
		for (n = 0; *p != ' ' && *p != '\0' && n + 1 < sizeof(h->fin);
		    n++)
			h->fin[n] = *p++;
		if (*p++ != ' ' || num(&p, &v) == -1 || v > 2)
			return -1;
		h->nitems = (int)v;
		return *p == '\0' ? 0 : -1;
	case PROTO_ID:
		return num(&p, &h->id) == 0 && *p == '\0' ? 0 : -1;
	case PROTO_ERROR:
		if (num(&p, &v) == -1)
			return -1;
		h->code = (int)v;
		h->msg = *p == ' ' ? p + 1 : p;
		return 0;
	default:
		return 0;
	}
}

int
proto_item(const char *line, int *init, size_t *lineno, const char **text)
{
	const char	*p;
	long		 v;

	if (strncmp(line, "init ", 5) == 0)
		*init = 1;
	else if (strncmp(line, "task ", 5) == 0)
		*init = 0;
	else
		return -1;
	p = line + 5;
	if (num(&p, &v) == -1 || v < 1 || *p != ' ')
		return -1;
	*lineno = (size_t)v;
	*text = p + 1;
	return 0;
}

int
proto_status(const char *s, int *status)
{
	return proto_status_log(s, status, NULL);
}

int
proto_status_log(const char *s, int *status, const char **log)
{
	char	*end;
	long	 v;

	if (log != NULL)
		*log = NULL;
	if (strcmp(s, "release") == 0) {
		*status = CLAIM_RELEASE;
		return 0;
	}
	if (strcmp(s, "lost") == 0) {
		*status = CLAIM_LOST;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (log != NULL && strncmp(end, ",log=", 5) == 0 && end[5] != '\0' &&
	    strpbrk(end + 5, " \t\r\n") == NULL) {
		*log = end + 5;
		end += strlen(end);
	}
	if (*end != '\0' || v > 255)
		return -1;
	*status = (int)v;
	return 0;
}
