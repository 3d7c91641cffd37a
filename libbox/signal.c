/* Signal names <-> numbers: the classic ones from this platform's
 * <signal.h>, the real-time ones by the kernel's numbering. */
#include "box.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIG(n) { SIG##n, #n }
static const struct {
	int num;
	const char *name;
} box_signals[] = {
	SIG(HUP), SIG(INT), SIG(QUIT), SIG(ILL), SIG(TRAP), SIG(ABRT),
	SIG(BUS), SIG(FPE), SIG(KILL), SIG(USR1), SIG(SEGV), SIG(USR2),
	SIG(PIPE), SIG(ALRM), SIG(TERM),
#ifdef SIGSTKFLT
	SIG(STKFLT),
#endif
	SIG(CHLD), SIG(CONT), SIG(STOP), SIG(TSTP), SIG(TTIN), SIG(TTOU),
	SIG(URG), SIG(XCPU), SIG(XFSZ), SIG(VTALRM), SIG(PROF),
#ifdef SIGWINCH
	SIG(WINCH),
#endif
#ifdef SIGIO
	SIG(IO),
#endif
#ifdef SIGPWR
	SIG(PWR),
#endif
	SIG(SYS),
#ifdef SIGEMT
	SIG(EMT),
#endif
#ifdef SIGINFO
	SIG(INFO),
#endif
};

int box_signal_at(int i, const char **name)
{
	if (i < 0 || (size_t)i >= BOX_ARRAY_LEN(box_signals))
		return 0;
	*name = box_signals[i].name;
	return box_signals[i].num;
}

/* Real-time signals by the kernel's numbers, whatever the libc: named as
 * glibc and bash's `kill -l` name them on Linux, 34 RTMIN, RTMIN+1 up to
 * RTMIN+15 (49), then RTMAX-14 (50) down to RTMAX (64). musl would call
 * 35 RTMIN. 32 and 33 are real-time signals too, kept by glibc for its
 * threads (musl keeps 32-34), so `kill -l` skips them: they are RT32 and
 * RT33, as musl's strsignal says, names no RTMIN+k can be mistaken for. */
enum { BOX_RT_FIRST = 32, BOX_RTMIN = 34, BOX_RTMAX = 64, BOX_RTMIN_LAST = 49 };

const char *box_signame(int sig)
{
	static char rt[BOX_RTMAX - BOX_RT_FIRST + 1][sizeof("RTMIN+15")];
	for (size_t i = 0; i < BOX_ARRAY_LEN(box_signals); i++)
		if (box_signals[i].num == sig)
			return box_signals[i].name;
	if (sig < BOX_RT_FIRST || sig > BOX_RTMAX)
		return NULL;
	char *name = rt[sig - BOX_RT_FIRST];
	if (sig < BOX_RTMIN)
		snprintf(name, sizeof(rt[0]), "RT%d", sig);
	else if (sig == BOX_RTMIN || sig == BOX_RTMAX)
		strcpy(name, sig == BOX_RTMIN ? "RTMIN" : "RTMAX");
	else if (sig <= BOX_RTMIN_LAST)
		snprintf(name, sizeof(rt[0]), "RTMIN+%d", sig - BOX_RTMIN);
	else
		snprintf(name, sizeof(rt[0]), "RTMAX-%d", BOX_RTMAX - sig);
	return name;
}

/* s after "RT": MIN, MIN+k, MAX, MAX-k, or a kernel number 32-64. */
static int box_rt_signum(const char *s)
{
	long long n;
	int base = BOX_RTMIN, dir = 1;

	if (isdigit((unsigned char)*s))
		return box_parse_ll(s, BOX_RT_FIRST, BOX_RTMAX, &n) ? -1 : (int)n;
	if (!strncasecmp(s, "MAX", 3))
		base = BOX_RTMAX, dir = -1;
	else if (strncasecmp(s, "MIN", 3))
		return -1;
	s += 3;
	if (!*s)
		return base;
	if (*s != (dir > 0 ? '+' : '-') || !isdigit((unsigned char)s[1]) ||
	    box_parse_ll(s + 1, 0, BOX_RTMAX - BOX_RTMIN, &n) != BOX_PARSE_OK)
		return -1;
	return base + dir * (int)n;
}

int box_signum(const char *s)
{
	long long n;
	if (box_parse_ll(s, 1, NSIG - 1, &n) == BOX_PARSE_OK)
		return (int)n;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < BOX_ARRAY_LEN(box_signals); i++)
		if (!strcasecmp(s, box_signals[i].name))
			return box_signals[i].num;
	if (!strcasecmp(s, "IOT"))
		return SIGABRT;
	if (!strcasecmp(s, "CLD"))
		return SIGCHLD;
	if (!strncasecmp(s, "RT", 2))
		return box_rt_signum(s + 2);
	return -1;
}

int box_xsignum(const char *what, const char *s)
{
	int sig = box_signum(s);
	if (sig < 0)
		box_usage("invalid %s '%s': unknown signal", what, s);
	return sig;
}
