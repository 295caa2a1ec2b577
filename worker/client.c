/*
 * client: a worker's requests to rtq-claim.  See client.h.
 */
#define _DEFAULT_SOURCE
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "sig.h"

#define BACKOFF_MAX	60

int
client_call(struct worker *w, const char *sub, const char *const *words,
    int n, struct tp_reply *r)
{
	/* a result in hand is worth waiting for after a first Ctrl-C */
	int	 must = w->has_prev && !w->prev_init &&
	    (strcmp(sub, "next") == 0 || strcmp(sub, "finish") == 0);
	char	 err[2048];
	int	 rv, delay = 1, told = 0;

	for (;;) {
		rv = tp_call(&w->tp, sub, words, n, r, err, sizeof(err));
		if (rv == TP_OK)
			return rv;
		if (rv == TP_FATAL || rv == TP_SOFT) {
			say("%s", err);
			return rv;
		}
		say("%s; retrying in %d s", err, delay);
		tp_reply_free(r);
		/*
		 * Jitter, so that workers refused together spread out.  With
		 * a result in hand, a first Ctrl-C does not end the wait.
		 */
		if (got_int && !got_hard && must && !told) {
			say("Ctrl-C: still trying to report line %zu (Ctrl-C "
			    "again to give up)", w->prev_line);
			told = 1;
		}
		if (sig_nap_until(delay * 500 + (int)(random() % (delay *
		    1000)), must))
			return TP_RETRY;
		if (delay < BACKOFF_MAX)
			delay *= 2;
	}
}

/* The host name and its IPv4 addresses but loopback, for a worker name. */
static void
default_name(char *out, size_t len)
{
	struct ifaddrs	*ifa, *i;
	char		 host[256], addr[INET_ADDRSTRLEN];
	size_t		 n;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "%s", host);
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
		    i->ifa_addr)->sin_addr, addr, sizeof(addr)) == NULL ||
		    strncmp(addr, "127.", 4) == 0)
			continue;
		n = strlen(out);
		snprintf(out + n, len - n, " %s", addr);
	}
	freeifaddrs(ifa);
}

int
client_register(struct worker *w, long want)
{
	struct tp_reply	 r;
	char		 idw[32], name[1024];
	const char	*words[2];
	int		 rv;

	if (w->o->name != NULL)
		snprintf(name, sizeof(name), "%s", w->o->name);
	else
		default_name(name, sizeof(name));
	name[strcspn(name, "\r\n")] = '\0';
	if (want >= 0)
		snprintf(idw, sizeof(idw), "%ld", want);
	else
		snprintf(idw, sizeof(idw), "-");
	words[0] = idw;
	words[1] = name;
	if ((rv = client_call(w, "register", words, 2, &r)) != TP_OK)
		return -1;
	if (r.h.kind != PROTO_ID) {
		say("unexpected reply to register from %s", w->where);
		tp_reply_free(&r);
		return -1;
	}
	w->id = r.h.id;
	w->pos = 0;
	w->has_prev = 0;
	tp_reply_free(&r);
	return 0;
}

void
client_set_prev(struct worker *w, int init, size_t line, int status,
    const char *t)
{
	free(w->prev_text);
	w->prev_text = strdup(t);
	w->has_prev = w->prev_text != NULL;
	w->prev_init = init;
	w->prev_line = line;
	w->prev_status = status;
}

/* The status word of the previous item: "N", "N,log=PATH", "release". */
static void
status_word(const struct worker *w, char *out, size_t len)
{
	if (w->prev_status == CLAIM_RELEASE_WORD)
		snprintf(out, len, "release");
	else if (w->prev_status != 0 && w->prev_log[0] != '\0' &&
	    strpbrk(w->prev_log, " \t\r\n") == NULL &&
	    (size_t)snprintf(out, len, "%d,log=%s", w->prev_status,
	    w->prev_log) < len)
		return;
	else
		snprintf(out, len, "%d", w->prev_status);
}

int
client_next(struct worker *w, struct tp_reply *r)
{
	char		 idw[32], posw[32], linew[32], stw[4200];
	const char	*words[6];
	int		 n = 2;

	snprintf(idw, sizeof(idw), "%ld/%lld", w->id, ++w->seq);
	snprintf(posw, sizeof(posw), "%zu", w->pos);
	words[0] = idw;
	words[1] = posw;
	if (w->has_prev && !w->prev_init) {
		snprintf(linew, sizeof(linew), "%zu", w->prev_line);
		status_word(w, stw, sizeof(stw));
		words[2] = "task";
		words[3] = linew;
		words[4] = stw;
		words[5] = w->prev_text;
		n = 6;
	}
	return client_call(w, "next", words, n, r);
}

void
client_report_prev(struct worker *w)
{
	struct tp_reply	 r;
	char		 idw[32], linew[32], stw[4200];
	const char	*words[5];

	if (!w->has_prev || w->prev_init)
		return;
	snprintf(idw, sizeof(idw), "%ld/%lld", w->id, ++w->seq);
	snprintf(linew, sizeof(linew), "%zu", w->prev_line);
	status_word(w, stw, sizeof(stw));
	words[0] = idw;
	words[1] = "task";
	words[2] = linew;
	words[3] = stw;
	words[4] = w->prev_text;
	got_hard = 0;	/* the report must get through */
	if (client_call(w, "finish", words, 5, &r) == TP_OK)
		w->has_prev = 0;
	tp_reply_free(&r);
}

int
client_heartbeat(struct worker *w)
{
	struct tp_reply	 r;
	char		 idw[32], leasew[32], err[1024];
	const char	*words[2];
	int		 lost = 0;

	snprintf(idw, sizeof(idw), "%ld", w->id);
	snprintf(leasew, sizeof(leasew), "%ld", w->o->lease);
	words[0] = idw;
	words[1] = leasew;
	if (tp_call(&w->tp, "heartbeat", words, 2, &r, err, sizeof(err)) ==
	    TP_OK)
		lost = r.h.kind == PROTO_LOST;
	tp_reply_free(&r);
	return lost;
}

void
client_goodbye(struct worker *w)
{
	struct tp_reply	 r;
	char		 idw[32], err[1024];
	const char	*words[1];

	if (w->id < 0)
		return;
	snprintf(idw, sizeof(idw), "%ld", w->id);
	words[0] = idw;
	tp_call(&w->tp, "bye", words, 1, &r, err, sizeof(err));
	tp_reply_free(&r);
}

void
client_say_lost(const struct worker *w)
{
	say("the master declared worker %ld lost (not heard from for more "
	    "than %ld s): its task went to another worker", w->id,
	    w->o->lease);
}
