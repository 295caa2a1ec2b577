/*
 * paths: where things are.  See paths.h.
 */
#define _DEFAULT_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"

const char *
paths_self(const char *argv0)
{
	static char	 path[PATH_MAX];
	const char	*p, *e;
	ssize_t		 n;
	size_t		 len;

	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) > 0) {
		path[n] = '\0';
		return path;
	}
	if (strchr(argv0, '/') != NULL || (p = getenv("PATH")) == NULL)
		return argv0;
	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if ((size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)len,
		    p, argv0) < sizeof(path) && access(path, X_OK) == 0)
			return path;
	}
	return argv0;
}

int
paths_claim_beside(const char *self, char *out, size_t len)
{
	const char	*slash = strrchr(self, '/');

	if ((size_t)snprintf(out, len, "%.*s%srtq-claim", slash ?
	    (int)(slash - self) : 0, self, slash ? "/" : "") >= len)
		return -1;
	return 0;
}

void
paths_split_target(const char *arg, char **host, char **file)
{
	const char	*colon = strchr(arg, ':'), *slash = strchr(arg, '/');

	if (colon != NULL && colon != arg && (slash == NULL || colon < slash)) {
		*host = strndup(arg, (size_t)(colon - arg));
		*file = strdup(colon + 1);
	} else
		*file = strdup(arg);
}

char *
paths_local(const char *file)
{
	char	 cwd[PATH_MAX], *p;

	if (file[0] == '/' || file[0] == '~' ||
	    getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(file);
	if ((p = malloc(strlen(cwd) + strlen(file) + 2)) == NULL)
		return NULL;
	sprintf(p, "%s/%s", cwd, file);
	return p;
}
