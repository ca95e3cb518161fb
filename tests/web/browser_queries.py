"""Data queries, source data verification and signatures in a real headless Chromium: a
nurse's record with an implausible value (saved through the API) leaves an open query on
the site's home page; the nurse answers it on the query page; the monitor closes it and
verifies the form; the PI signs the casebook on the sign page; the statistician's lock
page counts what is not closed and refuses the lock. A screenshot of each page goes to
the output folder (argv[2]).

usage: browser_queries.py LEOPARDS OUTDIR"""
import json
import os
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures  # noqa: E402
from browser import Person  # noqa: E402
from webutil import request  # noqa: E402



def main():
    leopards, outdir = sys.argv[1], sys.argv[2]
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    srv = webutil.Server(leopards)
    people = []
    try:
        u = srv.url + "/api/v1"
        pw = {"inv-ICU01": "walnut-orchid-fifty-3", "monitor": "maple-signal-forty-6",
              "statistician": "pebble-comet-thirty-1"}
        tok = {}
        for user, new in pw.items():
            _, _, body = request(u + "/login", "POST", {"user": user, "password": srv.passwords[user]})
            tok[user] = json.loads(body)["token"]
            request(u + "/password", "POST", {"current": srv.passwords[user], "new": new},
                    headers={"Authorization": "Bearer " + tok[user]})
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        patient = db.execute("SELECT p.patient FROM patients p JOIN randomisations r ON r.patient=p.patient"
                             " JOIN sites s ON s.id=r.site_id WHERE s.code='ICU01' AND p.patient NOT IN"
                             " (SELECT patient FROM queries) ORDER BY p.id LIMIT 1").fetchone()[0]
        db.close()
        code, _, body = request(u + "/records/baseline", "POST", {"patient": patient, "lactate": 22,
                                                                  "reason": "late blood gas"},
                                headers={"Authorization": "Bearer " + tok["inv-ICU01"]})
        check(code == 201, "the nurse's implausible lactate is saved with a warning")

        def person(tag, user):
            p = Person(srv, outdir, tag)
            people.append(p)
            p.go("/login")
            p.d.add_cookie({"name": "lp_session", "value": tok[user], "path": "/"})
            return p

        nurse = person("1-nurse", "inv-ICU01")
        nurse.go("/home")
        check("Open data queries of your site" in nurse.text() and "lactate" in nurse.text(),
              "the open query is on the site's home page")
        nurse.shot("home-open-query")
        # the query this test raised (the demo's own data may have raised a few others)
        qid = nurse.d.find_element(
            "xpath", "//*[@id='queries']//tr[contains(., '%s') and contains(., 'lactate')]//a[starts-with(@href, "
            "'/queries/')]" % patient).get_attribute("href")
        qpath = "/" + qid.split("/", 3)[3]
        nurse.go(qpath)
        nurse.shot("query")
        nurse.fill("text", "Checked the blood gas print-out: 22 mmol/L is right")
        nurse.submit(qpath + "/answer")
        check("answered" in nurse.text() and "Checked the blood gas" in nurse.text() and patient in nurse.text(),
              "the nurse answers it")
        nurse.shot("answered")

        mon = person("2-monitor", "monitor")
        mon.go("/home")
        check("Answered queries to review" in mon.text(), "the monitor's home page lists the answered queries")
        mon.go(qpath)
        mon.shot("query-to-close")
        mon.submit(qpath + "/close")
        check("closed" in mon.text(), "the monitor closes the query")
        mon.go("/sdv?patient=" + patient)
        mon.shot("forms")
        mon.submit("/verify")
        check("verified by monitor" in mon.text(), "the monitor verifies a form")
        mon.shot("verified")

        nurse.go("/sdv?patient=" + patient)
        nurse.d.find_element("link text", "Sign the casebook").click()
        check("I confirm these data are complete and accurate" in nurse.text(), "the sign page states the meaning")
        nurse.shot("sign")
        nurse.fill("password", pw["inv-ICU01"])
        nurse.submit("/sign")
        check("signed by Dr Eleanor Hart" in nurse.text(), "the PI signs the casebook (the printed name shown)")
        nurse.shot("signed")

        code, _, _ = request(u + "/queries", "POST", {"patient": patient, "form": "baseline", "field": "age",
                                                      "text": "Age against the ID card?"},
                             headers={"Authorization": "Bearer " + tok["monitor"]})
        check(code == 201, "the monitor raises a query by hand")
        stat = person("3-statistician", "statistician")
        stat.go("/lock")
        check("data quer" in stat.text() and "Reason to lock although queries are not closed" in stat.text(),
              "the lock page counts what is not closed")
        stat.shot("lock")
        stat.fill("password", pw["statistician"])
        stat.submit("/lock")
        check("not closed" in stat.text(), "the lock is refused while queries are open")
        stat.shot("lock-refused")
    finally:
        for p in people:
            p.quit()
        srv.stop()
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all browser checks passed; screenshots in " + outdir)


if __name__ == "__main__":
    main()
