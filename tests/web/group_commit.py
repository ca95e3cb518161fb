"""Group commit in leopards serve, against the test's own demo server on 127.0.0.1:
many clients at once screen, record the consent of and randomise patients through the
JSON API (their writes share commits on the writer thread), with refused requests
among them; every accepted request is answered as on its own (201, one allocation per
patient, the site's sequence without gaps or repeats), the refused ones undo only
themselves, every change has its audit entry, and the trail verifies. The banner says
that group commit is on, and off with --no-group-commit.

usage: group_commit.py LEOPARDS"""
import os
import sqlite3
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures, js, login  # noqa: E402
from webutil import request  # noqa: E402

ELIGIBLE = {"age": 61, "infection": 1, "temperature": 38.6, "heart_rate": 112, "resp_rate": 26, "paco2_kpa": 4.1,
            "ventilated": 1, "wbc": 15.2, "vasopressor_hours": 6, "hours_since_criteria": 10, "esrf_dialysis": 0,
            "torsades_history": 0, "child_pugh_c": 0, "ventricular_obstruction": 0, "treatment_limitation": 0,
            "weight": 82, "pregnant": 0, "levosimendan_30d": 0, "levosimendan_hypersensitivity": 0, "other_trial": 0}
CONSENT = {"consent_by": "patient", "consented_at": "2020-01-01T00:00", "taken_by": "test", "form_version": "1"}


def main():
    leopards = sys.argv[1]
    srv = webutil.Server(leopards)
    try:
        srv.out.seek(0)
        check("and group commit" in srv.out.read(), "the server says that it commits the API's writes in groups")
        u = srv.url
        H = {"Authorization": "Bearer " + login(srv, "inv-ICU01", "walnut-orchid-fifty-3")}
        other = {"Authorization": "Bearer " + login(srv, "inv-ICU02", "copper-meadow-ninety-7")}
        n = 24
        pats = ["GC%03d" % i for i in range(n)]
        answers, refused = {}, {}

        def client(k):
            for p in pats[k::6]:
                s1, _, _ = request(u + "/api/v1/screenings", "POST", dict(ELIGIBLE, site="ICU01", patient=p), H)
                s2, _, _ = request(u + "/api/v1/consents", "POST", dict(CONSENT, patient=p), H)
                # refused among them: another site's investigator, an unscreened patient (on the
                # worker), the same consent again (by the library, in the writer's batch)
                refused[p] = (request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": p}, other)[0],
                              request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": p + "x"},
                                      H)[0],
                              request(u + "/api/v1/consents", "POST", dict(CONSENT, patient=p), H)[0])
                s3, _, b3 = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": p}, H)
                answers[p] = (s1, s2, s3, js(b3))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(all(a[:3] == (201, 201, 201) for a in answers.values()) and len(answers) == n,
              "%d patients screened, consented and randomised by 6 clients at once, each answered 201" % n)
        check(all(r[0] == 403 and r[1] in (404, 409, 422) for r in refused.values()),
              "the refused randomisations among them were refused (403 for another site, %s for an unscreened patient)"
              % sorted({r[1] for r in refused.values()}))
        check(all(r[2] == 409 for r in refused.values()), "a second consent record for the same patient: 409 (%s)"
              % sorted({r[2] for r in refused.values()}))
        repeat = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": pats[0]}, H)
        check(repeat[0] == 200 and js(repeat[2]).get("pack") == answers[pats[0]][3].get("pack"),
              "a repeated randomisation gets the first allocation")
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        rows = db.execute("SELECT r.patient, r.seq, r.pack FROM randomisations r JOIN sites s ON s.id=r.site_id"
                          " WHERE s.code='ICU01' ORDER BY r.seq").fetchall()
        seqs = [r[1] for r in rows]
        check(seqs == list(range(1, len(seqs) + 1)), "the site's sequence has no gap and no repeat (%d slots)"
              % len(seqs))
        told = {p: (a[3].get("sequence"), a[3].get("pack")) for p, a in answers.items()}
        stored = {r[0]: (r[1], r[2]) for r in rows if r[0] in told}
        check(told == stored, "every allocation a client was told is the stored one")
        audited = db.execute("SELECT count(*) FROM audit WHERE tbl='randomisations' AND patient LIKE 'GC%'"
                             ).fetchone()[0]
        check(audited == n, "one audit entry per randomisation (%d)" % audited)
        check(db.execute("SELECT count(*) FROM screening WHERE patient LIKE 'GC%x'").fetchone()[0] == 0 and
              db.execute("SELECT count(*) FROM consents WHERE patient LIKE 'GC%'").fetchone()[0] == n,
              "nothing of the refused requests was kept (one consent record per patient)")
        db.close()
    finally:
        srv.stop()
    v = subprocess.run([leopards, "audit", "verify", "--db", srv.db], capture_output=True, text=True)
    check(v.returncode == 0, "the audit trail verifies")
    off = webutil.Server(leopards, extra=["--no-group-commit"])
    try:
        off.out.seek(0)
        check("group commit" not in off.out.read(), "with --no-group-commit it does not")
    finally:
        off.stop()
    print("%d failure(s)" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
