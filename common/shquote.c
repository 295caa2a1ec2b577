#include <string.h>

#include "shquote.h"

int
shquote(struct buf *b, const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_";
	const char	*p;

	if (*s != '\0' && strspn(s, safe) == strlen(s))
		return buf_adds(b, s);
	if (buf_addc(b, '\'') == -1)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			if (buf_adds(b, "'\\''") == -1)
				return -1;
		} else if (buf_addc(b, *p) == -1)
			return -1;
	}
	return buf_addc(b, '\'');
}
