"""The JSON API of the case report forms gives the same answer as `leopards record`
(one library): the same bad daily record, sent through the API and given to the
command line, is refused with the same message and the same findings, every failing
field named; a good one is recorded through the API (201), a change without a
reason is refused and with one accepted (200); the saved record, the patient's
forms and a draft read back; a soft finding comes back as a warning; a monitor may
read but not write; the trial manager (central data management, every site) may
correct with a reason, as on the command line; another site's investigator may not read; the
SOFA scores by system.

usage: forms_api.py LEOPARDS"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures  # noqa: E402
from forms_browser import api_login, find_day  # noqa: E402



def first_login(srv, user, new):
    h = api_login(srv, user, srv.passwords[user])
    webutil.request(srv.url + "/api/v1/password", "POST", {"current": srv.passwords[user], "new": new}, headers=h)
    return api_login(srv, user, new)


def cli_findings(stderr):
    """(level, field, text) of each finding line 'leopards: LEVEL: FORM P day D, FIELD: TEXT'."""
    out = []
    for line in stderr.splitlines():
        m = re.match(r"leopards: (error|warning|note): \S+ \S+(?: day \d+)?(?:, (\S+))?: (.*)$", line)
        if m:
            out.append((m.group(1), m.group(2) or "", m.group(3)))
    return sorted(out)


def main():
    leopards = sys.argv[1]
    srv = webutil.Server(leopards)
    try:
        h = first_login(srv, "inv-ICU01", "amber-kettle-river-42")
        patient, day = find_day(srv, h, "ICU01")
        url = srv.url + "/api/v1/patients/%s/records/daily/%d" % (patient, day)
        bad = {"map": 300, "fio2": 40, "gcs": "14", "platelets": 90}

        st, _, body = webutil.request(url, "POST", {"record": bad}, headers=h)
        j = json.loads(body)
        check(st == 422, "the API refuses the bad record with 422 (%d)" % st)
        api = sorted((f["level"], f["field"], f["text"]) for f in j.get("findings", []))
        fields = {f for lvl, f, _ in api if lvl == "error"}
        check(fields == {"map", "fio2", "gcs"}, "every failing field is named (%s)" % sorted(fields))
        rec = dict(bad, patient=patient, day=day)
        env = dict(os.environ, LEOPARDS_QUIET="1")
        p = subprocess.run([leopards, "record", "daily", "--db", srv.db, "--json-in", json.dumps(rec),
                            "--user", "inv-ICU01"], capture_output=True, text=True, env=env)
        check(p.returncode != 0, "leopards record refuses it too")
        cli = cli_findings(p.stderr)
        check(cli == api, "the same findings through the CLI and the API\n  cli %s\n  api %s" % (cli, api))
        pj = subprocess.run([leopards, "record", "daily", "--db", srv.db, "--json-in", json.dumps(rec),
                             "--user", "inv-ICU01", "--json"], capture_output=True, text=True, env=env)
        try:
            cli_msg = json.loads(pj.stdout)["error"]["message"]
        except Exception:
            cli_msg = pj.stdout + pj.stderr
        check(cli_msg == j["error"]["message"], "the same message through the CLI and the API\n  cli %s\n  api %s"
              % (cli_msg, j["error"]["message"]))

        good = {"map": 66, "fio2": 0.4, "pao2": 90, "resp_support": 1, "platelets": 4, "gcs": 14, "in_icu": 1}
        st, _, body = webutil.request(url, "POST", {"record": good}, headers=h)
        j = json.loads(body)
        check(st == 201, "a good record is recorded (%d %s)" % (st, body[:200]))
        warn = [f for f in j.get("findings", []) if f["level"] == "warning"]
        check(any(f["field"] == "platelets" for f in warn), "an unusual value comes back as a warning (%s)" % warn)
        st, _, body = webutil.request(url, "GET", headers=h)
        check(st == 200 and json.loads(body)["record"]["map"] == 66, "the saved record reads back")
        st, _, body = webutil.request(url, "POST", {"record": {"map": 64}}, headers=h)
        check(st == 422 and "reason" in body, "a change without a reason is refused (%d)" % st)
        st, _, body = webutil.request(url, "POST", {"record": {"map": 64}, "reason": "lowest MAP misread"}, headers=h)
        check(st == 200, "a change with a reason is accepted (%d %s)" % (st, body[:200]))

        durl = srv.url + "/api/v1/patients/%s/drafts/daily/%d" % (patient, day)
        st, _, body = webutil.request(durl, "POST", {"values": {"map": "61"}}, headers=h)
        check(st == 201 and json.loads(body)["values"]["map"] == "61", "a draft is kept (%d)" % st)
        st, _, body = webutil.request(srv.url + "/api/v1/patients/%s/forms" % patient, headers=h)
        forms = {(f["form"], f["key"]): f for f in json.loads(body)["forms"]}
        check(forms[("daily", day)]["state"] == "queried" and forms[("daily", day)]["draft"],
              "the forms list the day as queried (the platelets' query is open), with a change in draft (%s)"
              % forms[("daily", day)]["state"])
        check("day_starts" in forms[("daily", day)], "... with its 24 hours")

        # a draft is not clinical data: the export has no file of drafts and none of its values
        out = os.path.join(srv.dir, "export")
        pe = subprocess.run([leopards, "export", "--db", srv.db, "--out", out], capture_output=True, text=True, env=env)
        check(pe.returncode == 0, "the trial exports (%s)" % pe.stderr.strip()[:200])
        names = os.listdir(out) if os.path.isdir(out) else []
        manifest = open(os.path.join(out, "manifest.csv")).read() if "manifest.csv" in names else ""
        check(names and not any("draft" in n for n in names) and "draft" not in manifest,
              "drafts are not exported (%s)" % sorted(names))

        st, _, body = webutil.request(srv.url + "/api/v1/scores/sofa?pao2=70&fio2=0.5&resp_support=1&platelets=90",
                                      headers=h)
        c = json.loads(body)["components"]
        check(c["respiratory"] == 3 and c["coagulation"] == 2 and c["renal"] is None, "the SOFA by system (%s)" % c)

        code, _, body = webutil.request(srv.url + "/patients/%3Cscript%3Ex%3C%2Fscript%3E/forms/daily/1",
                                        headers=h)
        check(code == 400 and "<script>" not in body, "a hostile patient code in a form's address is refused (%d)" % code)
        code, _, body = webutil.request(srv.url + "/patients/%s/forms/daily/29" % patient, headers=h)
        check(code == 404, "there is no day 29 (%d)" % code)

        hm = first_login(srv, "monitor", "maple-signal-forty-6")
        st, _, _ = webutil.request(url, "GET", headers=hm)
        check(st == 200, "the monitor reads the record")
        st, _, _ = webutil.request(url, "POST", {"record": {"map": 70}, "reason": "x"}, headers=hm)
        check(st == 403, "the monitor may not write (%d)" % st)
        hg = first_login(srv, "manager", "violet-harbour-crane-31")
        st, _, _ = webutil.request(url, "POST", {"record": {"map": 71}}, headers=hg)
        check(st == 422, "the manager's change without a reason is refused (%d)" % st)
        st, _, _ = webutil.request(url, "POST", {"record": {"map": 71}, "reason": "corrected from the source chart"},
                                   headers=hg)
        check(st in (200, 201), "the manager corrects clinical data with a reason, as with leopards record (%d)" % st)
        ho = first_login(srv, "inv-ICU02", "copper-lantern-seven-9")
        st, _, _ = webutil.request(url, "GET", headers=ho)
        check(st == 403, "another site's investigator may not read (%d)" % st)
    finally:
        log = srv.stop()
        check("stopped, the store closed cleanly" in log, "the server stops cleanly")
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all form API checks passed")


if __name__ == "__main__":
    main()
