#!/usr/bin/env python3
"""Steps the wall clock (CLOCK_REALTIME) for the cron tests, and puts it back.

  clock.py save FILE     record the wall and monotonic clocks in FILE
  clock.py set EPOCH     set the wall clock to EPOCH seconds
  clock.py restore FILE  set the wall clock to the recorded wall time plus
                         the monotonic time since, as if never stepped
"""
import sys
import time

R, M = time.CLOCK_REALTIME, time.CLOCK_MONOTONIC


def main():
    verb, arg = sys.argv[1], sys.argv[2]
    if verb == "save":
        wall, mono = time.clock_gettime_ns(R), time.clock_gettime_ns(M)
        with open(arg, "w") as f:
            f.write(f"{wall} {mono}\n")
    elif verb == "set":
        time.clock_settime_ns(R, int(arg) * 1_000_000_000)
    elif verb == "restore":
        with open(arg) as f:
            wall, mono = map(int, f.read().split())
        time.clock_settime_ns(R, wall + time.clock_gettime_ns(M) - mono)
    else:
        sys.exit(f"clock.py: unknown verb {verb}")


if __name__ == "__main__":
    main()
