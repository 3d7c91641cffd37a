#!/usr/bin/python3
"""Debian's real cron and `timer -c --next` on the same schedules.

  timer_realcron.py [--crontab] PROCBOX ZONE START END SPEED EXPR...

With --crontab, cron's file (system format, an environment line, each
command with a '%' and stdin after it) is given whole to
`timer --crontab FILE --system --next`, instead of one `timer -c` per
expression.

Runs cron (`cron -f`) in a private mount namespace (its own /etc/cron.d
holding one job per EXPR, an empty /etc/crontab and spool, its own /run),
with libfaketime making its clock start at START (local time in ZONE,
YYYY-MM-DDTHH:MM) and run SPEED times fast, until END. Each job appends
its name and the real time to a file; real times are turned into cron's
fake ones. Prints, per expression, the minutes at which cron ran it and
those timer --next gives from START, and exits 1 when any differ. Needs
root (unshare -m), cron and libfaketime.

A job that cron runs several times within one minute (catch-up runs
after a spring-forward jump) counts once: cron's runs are compared as
the set of minutes they fall in. A fake minute lasts 60/SPEED real
seconds; a job must start within half of that after it is due.
"""
import datetime
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
import zoneinfo


def main():
    tab = sys.argv[1] == '--crontab'
    args = sys.argv[1 + tab:]
    procbox, zone_name, start_s, end_s, speed = args[:5]
    exprs = args[5:]
    speed = int(speed)
    zone = zoneinfo.ZoneInfo(zone_name)
    start = datetime.datetime.fromisoformat(start_s).replace(tzinfo=zone)
    end = datetime.datetime.fromisoformat(end_s).replace(tzinfo=zone)
    f0, f1 = int(start.timestamp()), int(end.timestamp())
    lib = (glob.glob('/usr/lib/*/faketime/libfaketime.so.1') or [None])[0]
    if not lib:
        print('libfaketime not found')
        return 2

    d = tempfile.mkdtemp()
    out = os.path.join(d, 'out')
    with open(os.path.join(d, 'rec'), 'w') as f:
        f.write('#!/bin/sh\necho "$1 $(date +%%s.%%N)" >> %s\n' % out)
    os.chmod(os.path.join(d, 'rec'), 0o755)
    os.mkdir(os.path.join(d, 'cron.d'))
    jobs = os.path.join(d, 'cron.d', 'jobs')
    with open(jobs, 'w') as f:
        if tab:
            f.write('SHELL = /bin/sh\nMAILTO=""\n')
        for i, e in enumerate(exprs):
            f.write('%s root %s/rec j%d%s\n' % (e, d, i, '%some input%more' if tab else ''))
    open(os.path.join(d, 'crontab'), 'w').close()
    script = ('set -e; mount --make-rprivate /; '
              'mount --bind "$D/cron.d" /etc/cron.d; '
              'mount --bind "$D/crontab" /etc/crontab; '
              'mount -t tmpfs none /var/spool/cron/crontabs; '
              'mount -t tmpfs none /run; exec cron -f -L 0')
    env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'D': d, 'TZ': zone_name,
           'LD_PRELOAD': lib, 'FAKETIME': '@%s x%d' % (start.strftime('%Y-%m-%d %H:%M:%S'), speed)}
    r0 = time.time()
    p = subprocess.Popen(['unshare', '-m', 'sh', '-c', script], env=env, start_new_session=True)
    try:
        p.wait(timeout=(f1 - f0) / speed)
        print('cron exited early with status %d' % p.returncode)
        return 2
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait()

    # cron starts each job a little after the minute it is due (catch-up
    # runs up to 10 fake seconds apart), and its clock started a little
    # after r0: the smallest lag of any record is that offset, taken off
    # before each run is put in its minute
    recs = []
    if os.path.exists(out):
        for line in open(out):
            name, real = line.split()
            recs.append((int(name[1:]), f0 + (float(real) - r0) * speed))
    lag = min((f % 60 for _, f in recs), default=0)
    cron_min = {i: set() for i in range(len(exprs))}
    for i, f in recs:
        cron_min[i].add(int((f - lag) // 60) * 60)
    print('%d runs, fake clock offset %.1f s' % (len(recs), lag))
    # the last minutes are cut off by the stop, which is not exact
    limit = f1 - 120
    fmt = lambda ts: ' '.join(datetime.datetime.fromtimestamp(t, zone).strftime('%H:%M%z') for t in sorted(ts))
    bad = 0
    whole = {i: set() for i in range(len(exprs))}
    if tab:
        res = subprocess.run([procbox, 'timer', '--crontab', jobs, '--system', '--next', '5000',
                              '--from', '@%d' % f0],
                             env={'TZ': zone_name}, capture_output=True, text=True, check=True)
        for line in res.stdout.splitlines():
            when, _, cmd = line.split(' ', 2)
            whole[int(cmd.rsplit(' j', 1)[1])].add(int(datetime.datetime.fromisoformat(when).timestamp()))
    for i, e in enumerate(exprs):
        if tab:
            timer = {t for t in whole[i] if t <= limit}
        else:
            res = subprocess.run([procbox, 'timer', '-c', e, '--next', '200', '--from', '@%d' % f0],
                                 env={'TZ': zone_name}, capture_output=True, text=True, check=True)
            timer = {t for t in (int(datetime.datetime.fromisoformat(x).timestamp())
                                 for x in res.stdout.split()) if t <= limit}
        cron = {t for t in cron_min[i] if t <= limit}
        same = cron == timer
        bad += not same
        print('%-5s %-16s cron: %s\n%22s timer: %s' % ('ok' if same else 'DIFF', e, fmt(cron), '', fmt(timer)))
    subprocess.run(['rm', '-rf', d])
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
