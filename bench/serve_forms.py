#!/usr/bin/python3
"""Form submissions on leopards serve: 34 concurrent keep-alive clients (one
investigator per ICU) each submit the daily ICU forms of their site's patients
through the JSON API (POST /api/v1/patients/P/records/daily/D, every edit check and
its audit entry); the p50/p99 latency of a submission and submissions per second.
The goal is p99 under 50 ms. The patients are screened and randomised 29 days in the
past (the server run under faketime for that part) so that every day 1-28 is over.
Afterwards: one record per patient and day, and the trail verifies.

The submissions come from bench_http (bench/bench_http.c, one thread per client).

usage: bench/serve_forms.py [--patients-per-site 2] [--days 28] [--workers N] [--think-ms 0] [--dir DIR]
(build first: cmake --build build; needs faketime)"""
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
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_load as SL  # noqa: E402  (setup, ELIGIBLE, pct)


def start(db, key, workers, log, past=False):
    cmd = [SL.LP, "serve", "--db", db, "--key", key, "--listen", "127.0.0.1:0"] + (
        ["--workers", str(workers)] if workers else [])
    if past:
        cmd = ["faketime", "-f", "-29d"] + cmd
    # its own process group: faketime runs the server as its child, and both are stopped
    srv = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(200):
        log.seek(0)
        m = re.search(r"127\.0\.0\.1:(\d+)/", log.read())
        if m:
            return srv, int(m.group(1))
        time.sleep(0.1)
    sys.exit("the server did not start")


class Conn:
    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, path, body, tok=None):
        h = {"Content-Type": "application/json"}
        if tok:
            h["Authorization"] = "Bearer " + tok
        for attempt in (1, 2):
            try:
                self.c.request("POST", path, json.dumps(body), h)
                r = self.c.getresponse()
                return r.status, json.loads(r.read() or b"{}")
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        return 0, {}


def login(c, user, pw):
    st, b = c.call("/api/v1/login", {"user": user, "password": pw})
    if st != 200:
        raise RuntimeError("login %s: %s" % (user, b))
    return b["token"]


def enrol(port, users, per_site):
    """Screen and randomise per_site patients at each site (the server in the past)."""
    pats = {}
    for i, (u, s, pw) in enumerate(users):
        c = Conn(port)
        tok = login(c, u, pw)
        c.call("/api/v1/password", {"current": pw, "new": pw + "-own"}, tok)
        pats[u] = []
        for k in range(per_site):
            p = "F%02d-%03d" % (i + 1, k)
            st, b = c.call("/api/v1/screenings", dict(SL.ELIGIBLE, site=s, patient=p), tok)
            c.call("/api/v1/consents", dict(SL.CONSENT, patient=p), tok)
            st2, b2 = c.call("/api/v1/randomisations", {"site": s, "patient": p}, tok)
            if st2 not in (200, 201):
                raise RuntimeError("randomising %s: %s %s" % (p, st, b2))
            pats[u].append(p)
    return pats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients-per-site", type=int, default=2)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--workers", type=int, default=0, help="the server's workers (0: its default)")
    ap.add_argument("--clients", type=int, default=34)
    ap.add_argument("--think-ms", type=float, default=0,
                    help="pause of each client between two submissions (0: back to back, the worst case)")
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="leopards-serve-forms-", dir=a.dir)
    db, key, users = SL.setup(d, a.clients, a.patients_per_site + 5)
    log1 = open(os.path.join(d, "serve-past.log"), "w+")
    srv, port = start(db, key, a.workers, log1, past=True)
    pats = enrol(port, users, a.patients_per_site)
    os.killpg(srv.pid, signal.SIGTERM)
    srv.wait(timeout=60)
    for _ in range(100):  # the server itself (faketime's child) has let go of the store
        log1.seek(0)
        if "stopped" in log1.read():
            break
        time.sleep(0.1)
    log2 = open(os.path.join(d, "serve-now.log"), "w+")
    srv, port = start(db, key, a.workers, log2)
    toks = {}
    for u, s, pw in users:  # logins (argon2) are set-up, not timed
        toks[u] = login(Conn(port), u, pw + "-own")
    jobs = [(toks[u], s, pats[u]) for u, s, pw in users]
    res = SL.load_client(port, jobs, "--mode", "forms", "--days", str(a.days), "--think-ms", str(a.think_ms))
    srv.send_signal(signal.SIGTERM)
    srv.wait(timeout=60)
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM daily").fetchone()[0]
    dup = con.execute("SELECT count(*) FROM (SELECT patient, day FROM daily GROUP BY 1, 2 HAVING count(*) > 1)"
                      ).fetchone()[0]
    audited = con.execute("SELECT count(*) FROM audit WHERE tbl='daily'").fetchone()[0]
    con.close()
    verify = subprocess.run([SL.LP, "audit", "verify", "--db", db], capture_output=True, text=True)
    f = res["kinds"].get("form", {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")})
    p99 = f["p99_ms"]
    print("leopards serve, daily form submissions: %d clients (keep-alive, a client in C), %s workers, %d patients x "
          "%d days, %g ms between a client's submissions" % (len(jobs), a.workers or "default", a.clients *
                                                             a.patients_per_site, a.days, a.think_ms))
    print("  %d submissions in %.1f s: %.0f/s; latency of a submission (checks, write, audit entry) p50 %.1f ms, "
          "p99 %.1f ms, max %.1f ms (goal: p99 < 50 ms: %s)" %
          (f["n"], res["wall_s"], f["n"] / res["wall_s"], f["p50_ms"], p99, f["max_ms"],
           "met" if p99 < 50 else "NOT met"))
    print("  after: %d daily records (%d duplicated), %d audit entries of them; errors %d; audit verify: %s" %
          (n, dup, audited, res["errors"], "ok" if verify.returncode == 0 else verify.stdout + verify.stderr))
    if res["first_error"]:
        print("  first error:", res["first_error"])
    sys.exit(0 if not res["errors"] and verify.returncode == 0 and p99 < 50 else 1)


if __name__ == "__main__":
    main()
