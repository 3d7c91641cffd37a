/* Signal names <-> numbers: the classic ones from this platform's
 * <signal.h>, the real-time ones by the kernel's numbering. And the
 * dispositions procbox inherited: what was ignored stays ignored. */
#include "box.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* ---- dispositions: what procbox inherited ignored ---------------------- */

/* The kernel's struct sigaction (handler first on every Linux ABI but
 * MIPS), read and written with the raw system call: libc refuses to
 * touch the signals it reserves for itself (glibc's 32 and 33, musl's
 * 32-34), yet a parent may have left them ignored, and an ignored signal
 * stays ignored across exec. The call reads and writes no libc state, so
 * box_spawn's child may use it. */
struct box_ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static int box_ksigaction(int sig, const struct box_ksigaction *act,
	struct box_ksigaction *old)
{
	return (int)syscall(SYS_rt_sigaction, sig, act, old, sizeof(act->mask));
}

/* bit sig-1: the signal was SIG_IGN when procbox started */
static uint64_t box_ignored_at_start;
/* bit sig-1: procbox changed the signal's disposition */
static uint64_t box_sig_touched;

static int box_ignored_now(int sig)
{
	struct box_ksigaction old;
	return box_ksigaction(sig, NULL, &old) == 0 && old.handler == SIG_IGN;
}

void box_sig_init(void)
{
	for (int sig = 1; sig < NSIG && sig <= 64; sig++)
		if (box_ignored_now(sig))
			box_ignored_at_start |= 1ULL << (sig - 1);
	/* with SIGCHLD ignored the kernel reaps children before procbox can
	 * read their status: procbox takes it back, and commands get it at
	 * default, as GNU timeout gives it */
	if (box_sig_ignored_at_start(SIGCHLD)) {
		box_ignored_at_start &= ~(1ULL << (SIGCHLD - 1));
		box_signal(SIGCHLD, SIG_DFL);
	}
}

/* they still need setting back to default in a child */
void box_sig_forget_ignored(void)
{
	box_sig_touched |= box_ignored_at_start;
	box_ignored_at_start = 0;
}

void box_sig_take(int sig)
{
	if (sig >= 1 && sig <= 64)
		box_ignored_at_start &= ~(1ULL << (sig - 1));
	box_signal(sig, SIG_DFL);
}

int box_sig_ignored_at_start(int sig)
{
	return sig >= 1 && sig <= 64 && (box_ignored_at_start >> (sig - 1) & 1);
}

/* An applet that set a disposition of its own before asking for the
 * signal (runner's SIGINT) takes it on purpose; one still ignored since
 * procbox started is not the applet's to act on. */
void box_sig_drop_ignored(sigset_t *set)
{
	for (int sig = 1; sig < NSIG && sig <= 64; sig++)
		if (box_sig_ignored_at_start(sig) && box_ignored_now(sig))
			sigdelset(set, sig);
}

/* Those ignored at start are set ignored again: the applet may have
 * caught one meanwhile (exitcode forwards SIGHUP), and a caught signal
 * would be at default after exec. */

/* bit sig-1: procbox set a handler for the signal */
static uint64_t box_sig_caught;

int box_sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	if (sa && sig >= 1 && sig <= 64) {
		uint64_t bit = 1ULL << (sig - 1);
		box_sig_touched |= bit;
		if (!(sa->sa_flags & SA_SIGINFO) &&
		    (sa->sa_handler == SIG_DFL || sa->sa_handler == SIG_IGN))
			box_sig_caught &= ~bit;
		else
			box_sig_caught |= bit;
	}
	return sigaction(sig, sa, old);
}

int box_sig_any_caught(void)
{
	return box_sig_caught != 0;
}

void box_signal(int sig, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_RESTART };
	box_sigaction(sig, &sa, NULL);
}

/* Only what procbox changed needs setting (a vfork child runs this, while
 * its parent waits: one system call per signal is what a spawn costs), and
 * with all, those ignored at start. libc's own handlers (its thread
 * signals) are only ever sent to the parent's threads. */
void box_sig_defaults(int all)
{
	const struct box_ksigaction dfl = { 0 }, ign = { .handler = SIG_IGN };
	uint64_t set = box_sig_touched | (all ? box_ignored_at_start : 0);

	for (int sig = 1; set; sig++, set >>= 1)
		if ((set & 1) && sig != SIGKILL && sig != SIGSTOP)
			box_ksigaction(sig, !all && box_sig_ignored_at_start(sig) ? &ign : &dfl, NULL);
}
