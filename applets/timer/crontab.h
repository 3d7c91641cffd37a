/* timer --crontab (crontab.c). */
#ifndef TIMER_CRONTAB_H
#define TIMER_CRONTAB_H

#include <stdint.h>

/* Keeps the jobs of the crontab at path ("-": stdin, not reloaded); with
 * system, each line names its user. With next > 0, prints the next fire
 * times of the whole file from `from` instead ("TIME LINE COMMAND") and
 * returns 0. Otherwise returns 128+N when signal N stops it; a file that
 * cannot be read or has an error at start exits 125. */
int timer_crontab(const char *path, int system, const char *smtp, long long next, int64_t from);

#endif
