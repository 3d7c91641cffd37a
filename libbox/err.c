/* Uniform error messages: "APPLET: text[: reason]\n" in one write. */
#include "box.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct applet box_no_applet = { "procbox", 0, "", "", 1, 1 };
const struct applet *box_applet = &box_no_applet;

void box_vwarn(int err, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = 0;
	int r;

	r = snprintf(line, sizeof(line), "%s: ", box_applet->name);
	if (r > 0)
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (err) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	box_write_all(2, line, n);
}

void box_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	box_vwarn(0, fmt, ap);
	va_end(ap);
}

void box_warn_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	box_vwarn(err, fmt, ap);
	va_end(ap);
	errno = err;
}

void box_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	box_vwarn(0, fmt, ap);
	va_end(ap);
	exit(code);
}

void box_die_errno(int code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	box_vwarn(err, fmt, ap);
	va_end(ap);
	exit(code);
}

void box_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	box_vwarn(0, fmt, ap);
	va_end(ap);
	exit(box_applet->fail_code);
}

void box_fatal_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	box_vwarn(err, fmt, ap);
	va_end(ap);
	exit(box_applet->fail_code);
}

void box_usage(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	box_vwarn(0, fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line), "usage: %s\n", box_applet->usage);
	if (n > 0)
		box_write_all(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	exit(box_applet->usage_code);
}
