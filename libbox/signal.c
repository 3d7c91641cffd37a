/* Signal names <-> numbers, from this platform's <signal.h>. */
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

const char *box_signame(int sig)
{
	static char rt[16];
	for (size_t i = 0; i < BOX_ARRAY_LEN(box_signals); i++)
		if (box_signals[i].num == sig)
			return box_signals[i].name;
#ifdef SIGRTMIN
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		if (sig == SIGRTMIN)
			return "RTMIN";
		if (sig == SIGRTMAX)
			return "RTMAX";
		snprintf(rt, sizeof(rt), "RTMIN+%d", sig - SIGRTMIN);
		return rt;
	}
#endif
	return NULL;
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
#ifdef SIGRTMIN
	int base = 0, dir = 1;
	if (!strncasecmp(s, "RTMIN", 5))
		base = SIGRTMIN;
	else if (!strncasecmp(s, "RTMAX", 5))
		base = SIGRTMAX, dir = -1;
	if (base) {
		s += 5;
		if (!*s)
			return base;
		if (*s != (dir > 0 ? '+' : '-'))
			return -1;
		if (box_parse_ll(s + 1, 0, SIGRTMAX - SIGRTMIN, &n) != BOX_PARSE_OK)
			return -1;
		return base + dir * (int)n;
	}
#endif
	return -1;
}

int box_xsignum(const char *what, const char *s)
{
	int sig = box_signum(s);
	if (sig < 0)
		box_usage("invalid %s '%s': unknown signal", what, s);
	return sig;
}
