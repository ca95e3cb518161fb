#!/usr/bin/python3
"""Load on leopards serve: 34 concurrent keep-alive clients (one investigator per ICU)
screen, record the consent of and randomise PATIENTS patients through one server; randomisations per second
and the p50/p99 latency of a randomisation, beside the store's own durable
randomisations per second with 16 processes (bench_trial) measured in the same run.
Afterwards: no slot shared or skipped, one allocation per patient, the trail verifies.

The load comes from bench_http (bench/bench_http.c, one thread per client), so that the
clients take little of the machine's CPU. By default every client first screens and
records the consent of all its patients (phase 1), and once all have, randomises them
(phase 2, timed on its own: the randomisations per second compare with the store's,
whose screening and consent are set-up too); --interleaved does the three requests of
one patient after the other, and then the rate is of patients.

usage: bench/serve_load.py [--patients 5000] [--workers N] [--interleaved] [--no-group-commit] [--extend-lists]
      [--dir DIR]
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
HTTP_CLIENT = os.path.join(ROOT, "build", "bench", "bench_http")
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


def login_all(port, users):
    """Log every investigator in and set their own password (argon2 is slow on purpose:
    this is set-up, not part of the timed load). Returns their bearer tokens."""
    toks = [None] * len(users)

    def one(i, user, pw):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

        def call(path, body, tok=None):
            h = {"Content-Type": "application/json"}
            if tok:
                h["Authorization"] = "Bearer " + tok
            c.request("POST", path, json.dumps(body), h)
            r = c.getresponse()
            return r.status, json.loads(r.read() or b"{}")

        st, b = call("/api/v1/login", {"user": user, "password": pw})
        if st == 200:
            call("/api/v1/password", {"current": pw, "new": pw + "-own"}, b["token"])
            toks[i] = b["token"]
        c.close()

    threads = [threading.Thread(target=one, args=(i, u, pw)) for i, (u, s, pw) in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return toks


def load_client(port, jobs, *args):
    """Run the load client in C (bench/bench_http.c) on the jobs [(token, site,
    [patients])]; returns its JSON result."""
    with tempfile.NamedTemporaryFile("w", suffix=".jobs", delete=False) as f:
        for tok, site, pats in jobs:
            f.write("%s %s %s\n" % (tok, site, ",".join(pats)))
    try:
        out = subprocess.run([HTTP_CLIENT, "--port", str(port), "--jobs", f.name, *args], capture_output=True,
                             text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    return json.loads(out)


def start_server(db, key, workers, log, cp=None, extra=()):
    cmd = [LP, "serve", "--db", db, "--key", key, "--listen", "127.0.0.1:0", *extra]
    if workers:
        cmd += ["--workers", str(workers)]
    if cp:
        cmd += ["--checkpoint-file", cp]
    srv = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        log.seek(0)
        m = re.search(r"127\.0\.0\.1:(\d+)/ with (\d+) workers", log.read())
        if m:
            return srv, int(m.group(1)), int(m.group(2))
        time.sleep(0.1)
    sys.exit("the server did not start")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=0, help="the server's workers (0: its default)")
    ap.add_argument("--clients", type=int, default=34)
    ap.add_argument("--interleaved", action="store_true",
                    help="each client screens, records consent and randomises one patient after the other "
                    "(default: all screenings and consents first, then the randomisations, timed on their own)")
    ap.add_argument("--no-group-commit", action="store_true", help="the server commits each request on its own")
    ap.add_argument("--extend-lists", action="store_true",
                    help="lists short enough that the server extends every site's once during the randomisations")
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="leopards-serve-load-", dir=a.dir)
    # Lists long enough that the server never tops one up during the run (it extends a
    # site's list, in the transaction of a randomisation, once less than a quarter of
    # the list length is left): the randomisations are timed as bench_trial's, on
    # lists made beforehand; --extend-lists gives the short lists that are topped up.
    per_site = a.patients // a.clients + 20 if a.extend_lists else (a.patients // a.clients) * 3 // 2 + 40
    db, key, users = setup(d, a.clients, per_site)
    log = open(os.path.join(d, "serve.log"), "w+")
    cp = os.path.join(d, "checkpoints")
    srv, port, workers = start_server(db, key, a.workers, log, cp,
                                      ["--no-group-commit"] if a.no_group_commit else [])
    toks = login_all(port, users)
    jobs = [(toks[i], s, ["L%05d" % k for k in range(i, a.patients, a.clients)])
            for i, (u, s, pw) in enumerate(users) if toks[i]]
    res = load_client(port, jobs, "--mode", "load", *([] if a.interleaved else ["--phased"]))
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
    k = res["kinds"]
    rz = k.get("randomisation", {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")})
    errors = res["errors"] + len(users) - len(jobs)
    print("leopards serve under load: %d clients (keep-alive, a client in C), %d workers, %s, %d patients" %
          (len(jobs), workers, "each request committed on its own" if a.no_group_commit else "group commit",
           a.patients))
    if a.interleaved:
        rate = rz["n"] / res["wall_s"]
        print("  each client screens, records the consent of and randomises one patient after the other: "
              "%.1f s, %.0f patients/s (3 durable requests each)" % (res["wall_s"], rate))
    else:
        rate = rz["n"] / res["phase2_s"]
        n1 = k["screening"]["n"] + k["consent"]["n"]
        print("  phase 1, every screening and consent (%d requests): %.1f s, %.0f requests/s" %
              (n1, res["phase1_s"], n1 / res["phase1_s"]))
        print("  phase 2, the randomisations alone, timed on their own: %.1f s, %.0f randomisations/s" %
              (res["phase2_s"], rate))
    for name in ("screening", "consent", "randomisation"):
        if name in k:
            print("  latency of a %-13s p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (%d requests)" %
                  (name + ":", k[name]["p50_ms"], k[name]["p99_ms"], k[name]["max_ms"], k[name]["n"]))
    print("  the store alone, 16 processes (bench_trial, this run): %.0f durable randomisations/s (bare fsync'd "
          "commits %.0f/s, i.e. %.2f ms each)" % (store_rate, fsync_rate, 1000 / fsync_rate if fsync_rate else
                                                  float("nan")))
    print("  ratio HTTP/store %.2f (goal 0.8: %s); randomisation p99 %.1f ms (goal < 50 ms: %s)" %
          (rate / store_rate, "met" if rate >= 0.8 * store_rate else "NOT met", rz["p99_ms"],
           "met" if rz["p99_ms"] < 50 else "NOT met"))
    con = sqlite3.connect(db)
    ext = con.execute("SELECT count(*) FROM audit WHERE tbl='slots'").fetchone()[0] - a.clients * per_site
    con.close()
    print("  slots added by the server's own list extensions during the run: %d; errors %d; SIGTERM to stopped %.2f s"
          % (ext, errors, stop_s))
    print("  after: %d allocations, %d slots shared, %d sites with a skipped slot; audit verify with %d checkpoints "
          "taken while serving: %s" % (n, dup, gaps, ncp, "intact" if verify.returncode == 0 else "FAILED"))
    if res["first_error"]:
        print("  first error:", res["first_error"])
    ok = n == a.patients and dup == 0 and gaps == 0 and verify.returncode == 0 and not errors
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
