#!/usr/bin/python3
"""A minute-by-minute model of Vixie cron's main loop (Debian's cron 3.0,
cronie), written from its cron.c and entry.c, to check `timer -c --next`
across DST changes.

  timer_cronsim.py PROCBOX SEED COUNT ZONE...

For each zone, every clock change of 2026 and COUNT generated expressions:
runs the model from 4 hours before the change to 4 hours after it, and
`procbox timer -c EXPR --next N --from START` in the same zone, and prints
each expression whose fire times differ. Exit 1 when any did.

The model, as cron does it: cron wakes at each local minute; its "virtual
time" counts local minutes (UTC offset refreshed when tm_isdst flips).
When a wakeup finds the clock moved by
  1 minute            the jobs of that minute run;
  2-5 minutes         every job of every minute missed runs;
  6-180 minutes       wildcard jobs (minute or hour field starting with
                      '*') of the current minute run, and fixed-time jobs
                      of every minute missed;
  0 to -180 minutes   only wildcard jobs run, virtual time waits for the
                      clock to catch up;
  more                virtual time jumps, the current minute's jobs run.
Catch-up runs are all counted at the wakeup (cron runs them one after
another there); a job due at several missed minutes counts once.
"""
import datetime
import random
import subprocess
import sys
import zoneinfo

FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def parse_field(text, lo, hi):
    bits = set()
    for part in text.split(','):
        rng, _, step = part.partition('/')
        step = int(step) if step else 1
        if rng == '*':
            a, b = lo, hi
        elif '-' in rng:
            a, b = (int(x) for x in rng.split('-'))
        else:
            a = b = int(rng)
        bits.update(range(a, b + 1, step))
    return bits


class Entry:
    def __init__(self, expr):
        f = expr.split()
        self.sets = [parse_field(t, *FIELDS[i]) for i, t in enumerate(f)]
        if 7 in self.sets[4]:
            self.sets[4].add(0)
        self.wild = f[0][0] == '*' or f[1][0] == '*'
        self.dom_star = f[2][0] == '*'
        self.dow_star = f[4][0] == '*'

    def matches(self, vmin):
        """Does the job match local minute vmin (minutes since the epoch,
        counted as if the zone were UTC, as cron's gmtime() call does)?"""
        tm = datetime.datetime(1970, 1, 1) + datetime.timedelta(minutes=vmin)
        mi, h, dom, mon, dow = self.sets
        dow_ok = (tm.isoweekday() % 7) in dow
        dom_ok = tm.day in dom
        day = (dom_ok and dow_ok) if (self.dom_star or self.dow_star) else (dom_ok or dow_ok)
        return tm.minute in mi and tm.hour in h and tm.month in mon and day


def cron_runs(entry, zone, start, end):
    """The instants (seconds) in (start, end] at which cron runs the job."""
    def info(t):
        d = datetime.datetime.fromtimestamp(t, zone)
        return bool(d.dst()), int(d.utcoffset().total_seconds())

    isdst, gmtoff = info(start)
    running = virtual = (start + gmtoff) // 60
    runs = []

    def find(vt, t, wild, fixed):
        if entry.matches(vt) and (wild if entry.wild else fixed):
            if not runs or runs[-1] != t:
                runs.append(t)

    while True:
        t = (running + 1) * 60 - gmtoff      # cron_sleep(timeRunning + 1)
        if t > end:
            return runs
        dst, off = info(t)
        if dst != isdst:
            isdst, gmtoff = dst, off
        running = (t + gmtoff) // 60
        diff = running - virtual
        if diff == 1:
            virtual = running
            find(virtual, t, True, True)
        elif diff > 180 or diff < -180:
            virtual = running
            find(running, t, True, True)
        elif diff > 5:
            find(running, t, True, False)
            while virtual < running:
                virtual += 1
                find(virtual, t, False, True)
        elif diff > 0:
            while virtual < running:
                virtual += 1
                find(virtual, t, True, True)
        else:
            find(running, t, True, False)


def transitions(zone, year):
    """The instants of `year` at which the zone's UTC offset changes."""
    t = int(datetime.datetime(year, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
    stop = int(datetime.datetime(year + 1, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
    off = lambda s: datetime.datetime.fromtimestamp(s, zone).utcoffset()
    out = []
    while t < stop:
        if off(t) != off(t + 3600):
            lo, hi = t, t + 3600
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if off(mid) == off(lo) else (lo, mid)
            out.append(hi)
        t += 3600
    return out


def gen_field(rnd, lo, hi, near):
    k = rnd.randrange(8)
    v = lambda: min(hi, max(lo, near + rnd.randint(-2, 2))) if near is not None else rnd.randint(lo, hi)
    if k == 0:
        return '*'
    if k == 1:
        return '*/%d' % rnd.choice([k for k in (2, 3, 5, 7, 15, 20) if k <= hi - lo])
    if k == 2:
        a = v()
        return '%d-%d' % (a, min(hi, a + rnd.randint(0, 3)))
    if k == 3:
        a = v()
        return '%d-%d/%d' % (a, min(hi, a + rnd.randint(1, 6)), rnd.randint(2, 3))
    if k == 4:
        return ','.join(str(x) for x in sorted({v() for _ in range(3)}))
    return str(v())


def gen_expr(rnd, local_hour):
    minute = gen_field(rnd, 0, 59, None)
    hour = gen_field(rnd, 0, 23, local_hour)
    dom = '*' if rnd.random() < 0.8 else gen_field(rnd, 1, 31, None)
    dow = '*' if rnd.random() < 0.8 else gen_field(rnd, 0, 7, None)
    return ' '.join([minute, hour, dom, '*', dow])


def main():
    procbox, seed, count, zones = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    rnd = random.Random(seed)
    bad = checked = 0
    for name in zones:
        zone = zoneinfo.ZoneInfo(name)
        for tr in transitions(zone, 2026):
            start, end = tr - 4 * 3600, tr + 4 * 3600
            local_hour = datetime.datetime.fromtimestamp(tr - 1, zone).hour
            for _ in range(count):
                expr = gen_expr(rnd, local_hour)
                want = cron_runs(Entry(expr), zone, start, end)
                out = subprocess.run(
                    [procbox, 'timer', '-c', expr, '--next', str(len(want) + 1), '--from', '@%d' % start],
                    env={'TZ': name}, capture_output=True, text=True)
                got = []
                for line in out.stdout.split():
                    t = int(datetime.datetime.fromisoformat(line).timestamp())
                    if t <= end:
                        got.append(t)
                checked += 1
                if out.returncode not in (0, 125) or got != want:
                    bad += 1
                    fmt = lambda ts: ' '.join(datetime.datetime.fromtimestamp(x, zone).isoformat() for x in ts)
                    print('%s %r from %s:\n  cron:  %s\n  timer: %s %s' % (
                        name, expr, datetime.datetime.fromtimestamp(start, zone).isoformat(),
                        fmt(want), fmt(got), out.stderr.strip()))
    print('%d of %d schedules differ' % (bad, checked))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
