#!/usr/bin/python3
"""Load on leopards serve: 34 concurrent keep-alive clients (one investigator per ICU)
screen and randomise PATIENTS patients through one server; randomisations per second
and the p50/p99 latency of a randomisation, beside the store's own durable
randomisations per second with 16 processes (bench_trial) measured in the same run.
Afterwards: no slot shared or skipped, one allocation per patient, the trail verifies.

usage: bench/serve_load.py [--patients 5000] [--workers 8] [--dir DIR]
(build first: cmake --build build)"""
import argparse
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LP = os.path.join(ROOT, "build", "leopards")
ELIGIBLE = {"age": 61, "infection": 1, "temperature": 38.6, "heart_rate": 112, "resp_rate": 26, "paco2_kpa": 4.1,
            "ventilated": 1, "wbc": 15.2, "vasopressor_hours": 6, "hours_since_criteria": 10, "esrf_dialysis": 0,
            "torsades_history": 0, "child_pugh_c": 0, "ventricular_obstruction": 0, "treatment_limitation": 0,
            "weight": 82, "pregnant": 0, "levosimendan_30d": 0, "levosimendan_hypersensitivity": 0, "other_trial": 0}


# the patient's own consent, recorded before the randomisation as the trial requires
CONSENT = {"consent_by": "patient", "consented_at": "2020-01-01T00:00", "taken_by": "bench", "form_version": "1"}


def run(*args, stdin=None):
    return subprocess.run([LP, *args], input=stdin, capture_output=True, text=True, check=True).stdout


def setup(d, nsites, per_site):
    db, key = os.path.join(d, "t.db"), os.path.join(d, "t.key")
    run("trial", "init", "--db", db, "--sites", str(nsites), "--user", "mgr")
    run("user", "add", "--db", db, "--name", "stat", "--role", "statistician", "--user", "mgr")
    run("list", "generate", "--db", db, "--key", key, "--user", "stat", "--initial-per-site", str(per_site))
    users = []
    for i in range(1, nsites + 1):
        name, site = "inv%02d" % i, "S%02d" % i
        run("user", "add", "--db", db, "--name", name, "--role", "investigator", "--site", site, "--user", "mgr")
        run("user", "passwd", "--db", db, "--name", name, "--user", "mgr", stdin="bench-pass-%02d-xyz\n" % i)
        users.append((name, site, "bench-pass-%02d-xyz" % i))
    return db, key, users


def client(port, user, site, pw, patients, lat, errors, ready, go):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(path, body, tok=None):
        h = {"Content-Type": "application/json"}
        if tok:
            h["Authorization"] = "Bearer " + tok
        t = time.perf_counter()
        for attempt in (1, 2):  # an idle keep-alive connection closed by the server is reopened once
            try:
                c.request("POST", path, json.dumps(body), h)
                r = c.getresponse()
                return r.status, json.loads(r.read() or b"{}")
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected) as e:
                c.close()
                if attempt == 2:
                    errors.append((path, "%s after %.1f s" % (type(e).__name__, time.perf_counter() - t)))
            except OSError as e:
                errors.append((path, "%s after %.1f s" % (type(e).__name__, time.perf_counter() - t)))
                c.close()
                break
        return 0, {}

    st, b = call("/api/v1/login", {"user": user, "password": pw})
    if st != 200:
        ready.wait()
        go.wait()
        return
    new = pw + "-own"
    call("/api/v1/password", {"current": pw, "new": new}, b["token"])
    tok = b["token"]
    ready.wait()  # logins (argon2, deliberately slow) are not part of the timed load
    go.wait()
    for p in patients:
        st, b = call("/api/v1/screenings", dict(ELIGIBLE, site=site, patient=p), tok)
        if st != 201:
            errors.append((p, st, b))
            continue
        st, b = call("/api/v1/consents", dict(CONSENT, patient=p), tok)
        if st not in (201, 409):  # 409: recorded already (a retried request)
            errors.append((p, st, b))
            continue
        t0 = time.perf_counter()
        st, b = call("/api/v1/randomisations", {"site": site, "patient": p}, tok)
        lat.append(time.perf_counter() - t0)
        if st != 201:
            errors.append((p, st, b))
    c.close()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--clients", type=int, default=34)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="leopards-serve-load-", dir=a.dir)
    per_site = a.patients // a.clients + 20
    db, key, users = setup(d, a.clients, per_site)
    log = open(os.path.join(d, "serve.log"), "w+")
    cp = os.path.join(d, "checkpoints")
    srv = subprocess.Popen([LP, "serve", "--db", db, "--key", key, "--listen", "127.0.0.1:0", "--workers",
                            str(a.workers), "--checkpoint-file", cp], stdout=log, stderr=subprocess.STDOUT)
    port = None
    for _ in range(100):
        log.seek(0)
        m = re.search(r"127\.0\.0\.1:(\d+)/", log.read())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.1)
    if not port:
        sys.exit("the server did not start")
    lat, errors, threads = [], [], []
    ready = threading.Barrier(len(users) + 1)
    go = threading.Barrier(len(users) + 1)
    for i, (u, s, pw) in enumerate(users):
        mine = ["L%05d" % k for k in range(i, a.patients, a.clients)]
        threads.append(threading.Thread(target=client, args=(port, u, s, pw, mine, lat, errors, ready, go)))
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    go.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    srv.send_signal(signal.SIGTERM)
    srv.wait(timeout=60)
    stop_s = time.perf_counter() - t1
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM randomisations").fetchone()[0]
    dup = con.execute("SELECT count(*) FROM (SELECT site_id, seq FROM randomisations GROUP BY 1,2 HAVING count(*)>1)").fetchone()[0]
    gaps = con.execute("SELECT count(*) FROM (SELECT site_id, max(seq) m, count(*) c FROM randomisations GROUP BY 1) WHERE m != c").fetchone()[0]
    con.close()
    verify = subprocess.run([LP, "audit", "verify", "--db", db, "--checkpoint", cp], capture_output=True, text=True)
    ncp = len(open(cp).read().split("\n")) - 1 if os.path.exists(cp) else 0
    store = subprocess.run([os.path.join(ROOT, "build", "bench", "bench_trial"), "--procs", "16", "--n", "2000"],
                           capture_output=True, text=True).stdout
    m = re.search(r"^\s*16\s+(\d+)\s+(\d+)", store, re.M)
    store_rate = float(m.group(2)) if m else float("nan")
    fsync_rate = float(m.group(1)) if m else float("nan")
    rate = len(lat) / wall
    print("leopards serve under load: %d clients (keep-alive), %d workers, %d patients screened and randomised" %
          (a.clients, a.workers, a.patients))
    print("  %.1f s: %.0f randomisations/s over HTTP (each after its screening and consent); randomisation latency p50 %.1f ms, "
          "p99 %.1f ms" % (wall, rate, 1000 * pct(lat, 0.5), 1000 * pct(lat, 0.99)))
    print("  the store alone, 16 processes: %.0f durable randomisations/s (bare fsync'd commits %.0f/s, "
          "i.e. %.1f ms each)" % (store_rate, fsync_rate, 1000 / fsync_rate if fsync_rate else float("nan")))
    print("  ratio HTTP/store %.2f; errors %d; SIGTERM to stopped %.2f s" % (rate / store_rate, len(errors), stop_s))
    print("  after: %d allocations, %d slots shared, %d sites with a skipped slot; audit verify with %d checkpoints "
          "taken while serving: %s" % (n, dup, gaps, ncp, "intact" if verify.returncode == 0 else "FAILED"))
    if errors:
        print("  first errors:", errors[:3])
    ok = n == a.patients and dup == 0 and gaps == 0 and verify.returncode == 0 and not errors
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
