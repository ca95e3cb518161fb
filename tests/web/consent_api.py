"""Informed consent through the JSON API and the pages of leopards serve, against the
test's own demo server on 127.0.0.1: randomisation without a consent record refused
(422, the reason said) and then allowed once consent is recorded; the consent form's
checks (422 naming every field); a representative's consent leaving a retrospective
consent owed on the patient, the dashboard and the status API until it is recorded;
a refusal applying the consent-withdrawn rule; every step in the audit trail; the
simulated trial's own consents (a mix of patient and representative consent, some
retrospective consent recorded, some still owed).

usage: consent_api.py LEOPARDS"""
import datetime
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures, js, login  # noqa: E402
from webutil import request  # noqa: E402



def main():
    srv = webutil.Server(sys.argv[1])
    try:
        u = srv.url
        inv = login(srv, "inv-ICU01", "walnut-orchid-fifty-3")
        mgr = login(srv, "manager", "saffron-bridge-eleven-5")
        H = {"Authorization": "Bearer " + inv}

        # the simulated trial recorded consent for its patients
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        mix = dict(db.execute("SELECT consent_by, count(*) FROM consents WHERE kind='initial' GROUP BY 1"))
        rand = db.execute("SELECT count(*) FROM randomisations").fetchone()[0]
        check(sum(mix.values()) == rand, "every simulated patient has a consent record (%d of %d)"
              % (sum(mix.values()), rand))
        check(mix.get("patient", 0) > 0 and mix.get("personal_representative", 0) > 0
              and mix.get("professional_representative", 0) > 0, "a mix of patient and representative consent: %s" % mix)
        retro = db.execute("SELECT count(*) FROM consents WHERE kind='retrospective'").fetchone()[0]
        check(retro > 0, "retrospective consents recorded later (%d)" % retro)
        db.close()

        # screening, then randomisation refused without consent
        code, _, body = request(u + "/api/v1/screenings", "POST", dict(webutil.ELIGIBLE, site="ICU01", patient="CON-1"),
                                headers=H)
        check(code == 201 and js(body).get("eligible") is True, "CON-1 screened eligible")
        code, _, body = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": "CON-1"}, headers=H)
        err = js(body).get("error", {})
        check(code == 422 and "no consent record" in err.get("message", "") and err.get("field") == "patient",
              "randomisation without consent: 422 with the reason (%d %s)" % (code, body.strip()))

        # the form's checks: every problem named, nothing recorded
        code, _, body = request(u + "/api/v1/consents", "POST", {"patient": "CON-1", "consented_at": "2020-01-01T00:00"},
                                headers=H)
        msg = js(body).get("error", {}).get("message", "")
        check(code == 422 and "consent_by" in msg and "taken_by" in msg and "form_version" in msg,
              "a consent without who, by whom and the form: 422 naming all three (%s)" % msg)
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "consent_by": "uncle", "consented_at": "2020-01-01T00:00",
                                 "taken_by": "Nurse Adams", "form_version": "3.1"}, headers=H)
        check(code == 422 and js(body).get("error", {}).get("field") == "consent_by", "an unknown consent_by: 422")

        # a personal representative's consent, then randomised
        before = (datetime.datetime.utcnow() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "consent_by": "personal_representative", "consented_at": before,
                                 "taken_by": "Nurse Adams", "form_version": "3.1"}, headers=H)
        check(code == 201 and js(body).get("retrospective_due") is True,
              "a representative's consent: 201, retrospective consent will be owed (%s)" % body.strip())
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "consent_by": "patient", "consented_at": before,
                                 "taken_by": "Nurse Adams", "form_version": "3.1"}, headers=H)
        check(code == 409, "a second initial consent: 409")
        code, _, body = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": "CON-1"}, headers=H)
        check(code == 201 and "pack" in js(body), "with consent the randomisation goes through: 201")

        # a correction with a reason: the same function as the command line's
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "form_version": "3.2", "reason": "version misread"}, headers=H)
        check(code == 200 and js(body).get("corrected") is True and js(body).get("consent_by") == "personal_representative",
              "a correction of the consent: 200 (%d %s)" % (code, body.strip()))
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "taken_by": "Dr Brown", "reason": "taken by the doctor"},
                                headers={"Authorization": "Bearer " + mgr})
        check(code == 200, "the trial manager corrects it too (%d %s)" % (code, body.strip()))
        time.sleep(1.2)
        after = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S")
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "consented_at": after, "reason": "time"}, headers=H)
        err = js(body).get("error", {})
        check(code == 422 and err.get("field") == "consented_at"
              and "without a consent before randomisation" in err.get("message", ""),
              "a correction after the randomisation: 422 saying why (%d %s)" % (code, body.strip()))
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "form_version": "3.3", "reason": ""}, headers=H)
        check(code == 400 and js(body).get("error", {}).get("field") == "reason", "a correction without a reason: 400")
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "kind": "retrospective", "notes": "x", "reason": "r"}, headers=H)
        check(code == 404, "no retrospective consent to correct: 404 (%d)" % code)
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        row = db.execute("SELECT form_version, taken_by FROM consents WHERE patient='CON-1' AND kind='initial'").fetchone()
        aud = db.execute("SELECT json_extract(old,'$.form_version'), json_extract(new,'$.form_version'), user FROM audit"
                         " WHERE tbl='consents' AND reason='version misread'").fetchone()
        db.close()
        check(row == ("3.2", "Dr Brown"), "the corrections saved (%s)" % (row,))
        check(aud == ("3.1", "3.2", "inv-ICU01"), "audited with the old and new values (%s)" % (aud,))
        code, _, page = request(u + "/consent?correct=1&patient=CON-1", headers={"Cookie": "lp_session=" + inv})
        check(code == 200 and 'value="personal_representative" selected' in page and 'value="3.2"' in page
              and 'name="reason"' in page, "the correction form shows the saved values and asks for a reason")
        code, _, page = request(u + "/patients/CON-1", headers={"Cookie": "lp_session=" + inv})
        check("/consent?correct=1&amp;patient=CON-1" in page, "the patient page offers the correction")
        code, _, page = request(u + "/consent?correct=1&patient=CON-1", headers={"Cookie": "lp_session=" + inv})
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
        form = {"csrf": m.group(1) if m else "", "patient": "CON-1", "kind": "initial",
                "consent_by": "personal_representative", "consented_at": before, "taken_by": "Dr Brown",
                "form_version": "3.4", "notes": "", "reason": "form version read from the signed copy"}
        code, _, page = request(u + "/consent", "POST", form=form, headers={"Cookie": "lp_session=" + inv})
        check(code == 200 and "Consent corrected" in page, "the correction form saves (%d)" % code)
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        row = db.execute("SELECT form_version FROM consents WHERE patient='CON-1' AND kind='initial'").fetchone()
        db.close()
        check(row == ("3.4",), "the web correction saved (%s)" % (row,))

        # owed: on the patient, the status API and the dashboard
        code, _, body = request(u + "/api/v1/patients/CON-1", headers=H)
        p = js(body)
        check(p.get("consent_by") == "personal_representative" and p.get("retrospective_due") is True,
              "the patient shows the representative's consent and the retrospective consent owed")
        code, _, body = request(u + "/api/v1/status?site=ICU01", headers=H)
        st = js(body)
        check(any(i["patient"] == "CON-1" and "retrospective consent owed" in i["what"] for i in st.get("outstanding", [])),
              "the status API lists CON-1's retrospective consent as owed")
        check(st.get("sites", [{}])[0].get("retrospective_consent_due", 0) >= 1, "and counts it for the site")
        code, _, page = request(u + "/status", headers={"Cookie": "lp_session=" + inv})
        check(code == 200 and "CON-1" in page and "retrospective consent owed" in page,
              "the site dashboard shows the retrospective consent owed")
        code, _, page = request(u + "/patients/CON-1", headers={"Cookie": "lp_session=" + inv})
        check("Retrospective consent owed" in page and "/consent?patient=CON-1&amp;kind=retrospective" in page,
              "the patient page offers the retrospective consent form")

        # the patient regains capacity and refuses: the consent-withdrawn rule
        time.sleep(1.2)
        now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S")
        code, _, body = request(u + "/api/v1/consents", "POST",
                                {"patient": "CON-1", "kind": "retrospective", "decision": "refused",
                                 "consented_at": now, "taken_by": "Nurse Adams", "form_version": "3.1"}, headers=H)
        check(code == 201 and "excluded from the analyses" in (js(body).get("applied") or ""),
              "a refused retrospective consent: 201, consent withdrawn (%s)" % body.strip())
        code, _, body = request(u + "/api/v1/patients/CON-1", headers=H)
        check(js(body).get("retrospective_due") is False and js(body).get("retrospective_consent") == "refused",
              "nothing owed any more; the refusal shown")
        code, _, body = request(u + "/api/v1/status?site=ICU01", headers=H)
        check(not any(i["patient"] == "CON-1" for i in js(body).get("outstanding", [])),
              "the withdrawn patient owes nothing on the dashboard")
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        cw = db.execute("SELECT consent_withdrawn FROM outcomes WHERE patient='CON-1'").fetchone()
        db.close()
        check(cw == (1,), "the outcome record says consent withdrawn (excluded from the analyses)")

        # audited
        code, _, body = request(u + "/api/v1/audit?patient=CON-1", headers={"Authorization": "Bearer " + mgr})
        entries = js(body).get("entries", [])
        reasons = [e.get("reason") for e in entries]
        check("consent recorded" in reasons and "retrospective consent recorded" in reasons,
              "both consents are in the audit trail")
        check(any(r and r.startswith("retrospective consent refused") for r in reasons),
              "the withdrawal is audited with its reason")
    finally:
        srv.stop()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all consent API checks passed")


if __name__ == "__main__":
    main()
