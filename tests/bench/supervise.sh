#!/bin/sh
# supervise side by side with supervisord, runsv (runit) and s6-supervise:
# RSS with 100 programs, death -> respawn latency (median), `ctl status`
# round trip against supervisorctl, and wakeups over 10 idle seconds.
# Prints each figure and supervise's ratio to each peer. Then 100 programs
# crash-looping under supervise and supervisord: `status` latency and the
# daemon's CPU share, with supervise's targets.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
PROCBOX=${PROCBOX:-$top/procbox}
for c in python3 supervisord supervisorctl runsvdir s6-svscan; do
	command -v "$c" >/dev/null 2>&1 || { echo "supervise bench: needs $c" >&2; exit 1; }
done
export PROCBOX
exec python3 - "$@" <<'EOF'
import os, signal, statistics, subprocess, sys, tempfile, time

N = 100
PROCBOX = os.environ["PROCBOX"]
work = tempfile.mkdtemp(prefix="svbench.")
started = []   # Popen objects to stop at the end
all_cpus = os.sched_getaffinity(0)

def children(pid):
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out

def status_field(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

def wait_for(cond, secs=30):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    raise SystemExit("bench: condition not met in %ds" % secs)

def sleep_cmd(i):
    return f"sleep {100000 + i}"

# ---- supervise and supervisord, same programs ------------------------------
def write_conf(path, sock, extra=""):
    with open(path, "w") as f:
        f.write(f"[supervisord]\nlogfile={path}.log\npidfile={path}.pid\n"
                f"childlogdir={work}\nnodaemon=true\n\n"
                f"[unix_http_server]\nfile={sock}\n\n"
                f"[supervisorctl]\nserverurl=unix://{sock}\n\n{extra}")
        for i in range(N):
            f.write(f"[program:p{i}]\ncommand={sleep_cmd(i)}\nstartsecs=1\n"
                    f"autorestart=true\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n")

sv_conf, sd_conf = f"{work}/sv.conf", f"{work}/sd.conf"
write_conf(sv_conf, f"{work}/sv.sock")
write_conf(sd_conf, f"{work}/sd.sock",
           "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
           "supervisor.rpcinterface:make_main_rpcinterface\n\n")
devnull = open(os.devnull, "w")
sv = subprocess.Popen([PROCBOX, "supervise", "-c", sv_conf], stdout=devnull, stderr=devnull)
sd = subprocess.Popen(["supervisord", "-n", "-c", sd_conf], stdout=devnull, stderr=devnull)
started += [sv, sd]

# ---- runit and s6: one service directory per program -----------------------
def service_dirs(base):
    os.mkdir(base)
    for i in range(N):
        d = f"{base}/p{i}"
        os.mkdir(d)
        with open(f"{d}/run", "w") as f:
            f.write(f"#!/bin/sh\nexec {sleep_cmd(i)}\n")
        os.chmod(f"{d}/run", 0o755)

service_dirs(f"{work}/runit")
service_dirs(f"{work}/s6")
rs = subprocess.Popen(["runsvdir", f"{work}/runit"], stdout=devnull, stderr=devnull)
s6 = subprocess.Popen(["s6-svscan", f"{work}/s6"], stdout=devnull, stderr=devnull)
started += [rs, s6]

def programs_of(kind):
    if kind in ("supervise", "supervisord"):
        return children({"supervise": sv.pid, "supervisord": sd.pid}[kind])
    top = {"runsv": rs.pid, "s6-supervise": s6.pid}[kind]
    return [c for s in children(top) for c in children(s)]

def supervisor_pids(kind):
    if kind == "supervise":
        return [sv.pid]
    if kind == "supervisord":
        return [sd.pid]
    top = {"runsv": rs.pid, "s6-supervise": s6.pid}[kind]
    return [top] + children(top)

kinds = ["supervise", "supervisord", "runsv", "s6-supervise"]
try:
    for k in kinds:
        wait_for(lambda: len(programs_of(k)) >= N, 60)
    time.sleep(1.5)   # past startsecs everywhere

    print(f"programs: {N} x sleep, one run, same machine")
    # ---- wakeups over 10 idle seconds ----
    def switches(k):
        return sum(status_field(p, "voluntary_ctxt_switches") +
                   status_field(p, "nonvoluntary_ctxt_switches") for p in supervisor_pids(k))
    before = {k: switches(k) for k in kinds}
    time.sleep(10)
    wake = {k: switches(k) - before[k] for k in kinds}
    print("wakeups in 10 idle s: " + ", ".join(f"{k} {wake[k]}" for k in kinds))

    # ---- RSS ----
    rss = {k: sum(status_field(p, "VmRSS") for p in supervisor_pids(k)) for k in kinds}
    print("RSS (KiB, supervisor processes only): " +
          ", ".join(f"{k} {rss[k]}" for k in kinds))
    print("RSS ratio supervise/peer: " + ", ".join(
        f"{k} {rss['supervise'] / rss[k]:.3f}" for k in kinds[1:]))

    # ---- death -> respawn latency ----
    # The measuring loop spins; on its own CPU it does not delay the
    # supervisors and their programs (a killed program must run to exit),
    # all on the other one; otherwise it adds up to a scheduler slice at
    # random, for every supervisor alike.
    if len(os.sched_getaffinity(0)) >= 2:
        cpus = sorted(os.sched_getaffinity(0))
        for k in kinds:
            for pid in supervisor_pids(k) + programs_of(k):
                for tid in os.listdir(f"/proc/{pid}/task"):   # every thread
                    os.sched_setaffinity(int(tid), {cpus[0]})
        os.sched_setaffinity(0, {cpus[1]})
        print(f"respawn: supervisors and programs on CPU {cpus[0]}, the measuring loop on CPU {cpus[1]}")
    def respawn(kind, rounds=9):
        lat = []
        for r in range(rounds):
            if kind in ("runsv", "s6-supervise"):
                top = {"runsv": rs.pid, "s6-supervise": s6.pid}[kind]
                parent = children(top)[0]
            else:
                parent = {"supervise": sv.pid, "supervisord": sd.pid}[kind]
            old = set(children(parent))
            victim = sorted(old)[0]
            t0 = time.perf_counter()
            os.kill(victim, signal.SIGKILL)
            end = t0 + 5
            while time.perf_counter() < end:
                new = set(children(parent)) - old
                if new:
                    break
            lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(1.3)   # stay past startsecs and runsv's 1 s throttle
        return statistics.median(lat)
    lat = {k: respawn(k) for k in kinds}
    print("death->respawn median (ms): " + ", ".join(f"{k} {lat[k]:.2f}" for k in kinds))
    print("respawn ratio supervise/peer: " + ", ".join(
        f"{k} {lat['supervise'] / lat[k]:.3f}" for k in kinds[1:]))

    # ---- ctl status round trip ----
    def roundtrip(cmd, rounds=15):
        t = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t.append((time.perf_counter() - t0) * 1000)
        return statistics.median(t)
    a = roundtrip([PROCBOX, "supervise", "ctl", "-s", f"{work}/sv.sock", "status"])
    b = roundtrip(["supervisorctl", "-c", sd_conf, "status"])
    print(f"ctl status round trip median (ms, {N} programs): supervise {a:.2f}, "
          f"supervisorctl {b:.2f}, ratio {a / b:.3f}")

    # ---- 100 programs crash-looping, one daemon at a time, on every CPU ----
    os.sched_setaffinity(0, all_cpus)
    def crash_storm(kind, argv, status, conf, secs=5):
        with open(conf, "w") as f:
            f.write(f"[supervisord]\nlogfile={conf}.log\npidfile={conf}.pid\n"
                    f"childlogdir={work}\nnodaemon=true\n\n"
                    f"[unix_http_server]\nfile={conf}.sock\n\n"
                    f"[supervisorctl]\nserverurl=unix://{conf}.sock\n\n")
            if kind == "supervisord":
                f.write("[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
                        "supervisor.rpcinterface:make_main_rpcinterface\n\n")
            for i in range(N):
                f.write(f"[program:c{i}]\ncommand=/bin/false\nstartsecs=0\nautorestart=true\n\n")
        d = subprocess.Popen(argv + [conf], stdout=devnull, stderr=devnull)
        started.append(d)
        def cpu():
            f = open(f"/proc/{d.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        def spawns():
            try:
                return open(f"{conf}.log", errors="replace").read().count("spawned: ")
            except OSError:
                return 0
        wait_for(lambda: spawns() >= 2 * N, 60)
        c0, s0, t0 = cpu(), spawns(), time.monotonic()
        lat = []
        while time.monotonic() < t0 + secs:
            t = time.perf_counter()
            subprocess.run(status + [conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            lat.append((time.perf_counter() - t) * 1000)
            time.sleep(0.1)
        span = time.monotonic() - t0
        share, rate = (cpu() - c0) / span * 100, (spawns() - s0) / span / N
        d.send_signal(signal.SIGTERM)
        t = time.monotonic()
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
        return statistics.median(lat), max(lat), share, rate, time.monotonic() - t
    storm = {
        "supervise": crash_storm("supervise", [PROCBOX, "supervise", "-c"],
                                 [PROCBOX, "supervise", "ctl", "-c"], f"{work}/storm-sv.conf"),
        "supervisord": crash_storm("supervisord", ["supervisord", "-n", "-c"],
                                   ["supervisorctl", "-c"], f"{work}/storm-sd.conf"),
    }
    print(f"crash storm ({N} programs: /bin/false, startsecs=0, autorestart=true):")
    for k, (med, mx, share, rate, stop) in storm.items():
        print(f"  {k}: status median {med:.2f} ms, max {mx:.2f} ms; daemon CPU {share:.1f}% "
              f"of a core; {rate:.2f} starts/s per program; SIGTERM -> exit {stop * 1000:.0f} ms")
    med, mx, share, rate, stop = storm["supervise"]
    print(f"  supervise targets: status <= 50 ms ({'ok' if med <= 50 else 'MISSED'}), "
          f"CPU <= 10% ({'ok' if share <= 10 else 'MISSED'}), "
          f"<= 1 start/s per program ({'ok' if rate <= 1.05 else 'MISSED'})")
finally:
    # everything this run started, to make sure none of it outlives the run
    leftovers = []
    for k in kinds:
        try:
            leftovers += supervisor_pids(k) + programs_of(k)
        except Exception:
            pass
    subprocess.run(["s6-svscanctl", "-t", f"{work}/s6"], stdout=devnull, stderr=devnull)
    for p in started:
        try:
            if p is not s6:
                p.send_signal(signal.SIGHUP if p is rs else signal.SIGTERM)
        except OSError:
            pass
    for p in started:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    # runsvdir and s6-svscan leave their services to the supervisors: stop them
    subprocess.run(["sh", "-c", f"for d in {work}/runit/*; do sv -w 5 force-stop $d; sv exit $d; done"],
                   stdout=devnull, stderr=devnull)
    subprocess.run(["sh", "-c", f"for d in {work}/s6/*; do s6-svc -dx $d; done"],
                   stdout=devnull, stderr=devnull)
    # a supervisor left behind respawns its program: supervisors first
    def cmdline(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            return ""
    for names in (("runsv", "s6-supervise", PROCBOX, "supervisord"), ("sleep",)):
        for pid in leftovers:
            if os.path.basename(cmdline(pid)) in [os.path.basename(n) for n in names] \
                    or cmdline(pid) in names:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    subprocess.run(["rm", "-rf", work])
EOF
