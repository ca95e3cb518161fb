"""Creatinine and bilirubin in umol/L, as UK ICUs record them, in a real headless
Chromium and through the API and the command line: the daily form offers the unit
beside the value (the choices those of `leopards record daily --help`); the live SOFA
(/forms.js) scores the value in the unit chosen (309.4 umol/L: renal 3, where 309.4
mg/dL is not); a refused submission keeps the unit chosen and the server's SOFA scores
in it; the saved record keeps mg/dL and says what was entered; the audit trail has
both. The same value in umol/L given to the API and to `leopards record` (a CSV column
creatinine_umol_l) is stored as the same number. Screenshots go to OUTDIR.

usage: units_browser.py LEOPARDS OUTDIR"""
import os
import re
import sqlite3
import subprocess
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser as B  # noqa: E402  (Person, check, failures)
import webutil  # noqa: E402
from forms_browser import api_login, click_button, find_day, text_of  # noqa: E402

check = B.check
NURSE_PW = "amber-kettle-river-42"


def stored(srv, patient, day, col):
    db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
    row = db.execute("SELECT %s FROM daily WHERE patient=? AND day=?" % col, (patient, day)).fetchone()
    db.close()
    return row[0] if row else None


def wait_for(p, css, want):
    try:
        WebDriverWait(p.d, 10).until(lambda d: text_of(p, css) == want)
    except Exception:
        pass
    return text_of(p, css)


def main():
    leopards, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    srv = webutil.Server(leopards)
    people = []
    try:
        nurse = B.Person(srv, outdir, "units-1-investigator")
        people.append(nurse)
        nurse.login_first_time("inv-ICU01", srv.passwords["inv-ICU01"], NURSE_PW)
        h = api_login(srv, "inv-ICU01", NURSE_PW)
        patient, day = find_day(srv, h, "ICU01")
        base = "/patients/%s/forms/daily/%d" % (patient, day)
        nurse.go(base)

        # the unit choice, from the field definitions (the same as the command line's help)
        help_text = subprocess.run([leopards, "record", "daily", "--help"], capture_output=True, text=True).stdout
        for name in ("creatinine", "bilirubin"):
            m = re.search(r"^  %s +.*\(number, ([^,]+), [^)]*\); or (\S+) in (\S+)" % name, help_text, re.M)
            opts = [o.get_attribute("value") for o in nurse.d.find_elements(By.CSS_SELECTOR, "#u-%s option" % name)]
            check(m is not None and opts == [m.group(1), m.group(3)],
                  "%s: the form's units %s are the help's (%s)" % (name, opts, m.groups() if m else help_text))
            sel = nurse.d.find_element(By.ID, "u-%s" % name)
            check(sel.get_attribute("name") == name + "_unit" and sel.get_attribute("data-alt") == m.group(2),
                  "%s: the unit is posted beside the value, its alternative named %s" % (name, m.group(2)))
        check("1 mg/dL = 88.4 umol/L" in text_of(nurse, "#h-creatinine"), "the help gives the conversion")
        check(nurse.d.find_element(By.ID, "f-creatinine").get_attribute("max") in (None, ""),
              "no range in mg/dL on an input that may hold umol/L")

        # live: the value is scored in the unit chosen
        nurse.fill("f-urine_ml", "1500")
        nurse.fill("f-creatinine", "309.4")
        mg = wait_for(nurse, "td[data-sofa-system=renal]", "4")
        check(mg != "3", "309.4 read as mg/dL is not renal 3 (%s)" % mg)
        nurse.fill("u-creatinine", "umol/L")
        got = wait_for(nurse, "td[data-sofa-system=renal]", "3")
        check(got == "3", "309.4 umol/L (3.5 mg/dL): renal 3 points, live (%s)" % got)
        nurse.fill("f-bilirubin", "102.6")
        nurse.fill("u-bilirubin", "umol/L")
        got = wait_for(nurse, "td[data-sofa-system=hepatic]", "3")
        check(got == "3", "102.6 umol/L (6.0 mg/dL): hepatic 3 points, live (%s)" % got)
        nurse.shot("daily-umol-live")

        # refused for another field: the unit chosen is kept, the server scores in it
        nurse.fill("f-map", "300")
        click_button(nurse, "submit")
        check("Not saved" in nurse.text(), "a bad MAP refuses the form")
        check(nurse.d.find_element(By.ID, "u-creatinine").get_attribute("value") == "umol/L" and
              nurse.d.find_element(By.ID, "f-creatinine").get_attribute("value") == "309.4",
              "the value and its unit are kept as entered")
        check(text_of(nurse, "td[data-sofa-system=renal]") == "3", "the server's SOFA scores it in umol/L")
        nurse.fill("f-map", "70")
        click_button(nurse, "submit")
        t = nurse.text()
        check("Submitted" in t, "the form with umol/L values is submitted")
        check(stored(srv, patient, day, "creatinine") == 3.5 and stored(srv, patient, day, "bilirubin") == 6.0,
              "kept in mg/dL: creatinine 3.5, bilirubin 6.0")
        check(nurse.d.find_element(By.ID, "f-creatinine").get_attribute("value") == "3.5" and
              nurse.d.find_element(By.ID, "u-creatinine").get_attribute("value") == "mg/dL",
              "the saved form shows the value kept, in mg/dL")
        check("entered as 309.4 umol/L: kept as 3.5 mg/dL" in text_of(nurse, "#d-creatinine"),
              "beside it, what was entered")
        check(text_of(nurse, "td[data-sofa-system=renal]") == "3", "the saved day's renal SOFA is 3")
        nurse.shot("daily-umol-saved")
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        reason = db.execute("SELECT reason FROM audit WHERE tbl='daily' AND patient=? ORDER BY id DESC LIMIT 1",
                            (patient,)).fetchone()[0]
        db.close()
        check("creatinine_umol_l 309.4 umol/L = creatinine 3.5 mg/dL" in reason and
              "bilirubin_umol_l 102.6 umol/L = bilirubin 6 mg/dL" in reason,
              "the audit entry has what was entered and what was kept (%s)" % reason)
        nurse.go("/audit?patient=" + patient)
        check("creatinine_umol_l 309.4 umol/L = creatinine 3.5 mg/dL" in nurse.text(), "... shown in the audit view")
        nurse.shot("audit-umol")

        # the API and the command line store the same value
        p2, d2 = find_day(srv, h, "ICU01")
        st, _, body = webutil.request(srv.url + "/api/v1/patients/%s/records/daily/%d" % (p2, d2), "POST",
                                      {"record": {"creatinine_umol_l": 176.8, "in_icu": 1}}, headers=h)
        check(st == 201 and "kept as 2 mg/dL" in body, "the API takes creatinine_umol_l (%d %s)" % (st, body))
        p3, d3 = find_day(srv, h, "ICU01")
        csv = os.path.join(srv.dir, "daily.csv")
        with open(csv, "w") as f:
            f.write("patient,day,in_icu,creatinine_umol_l\n%s,%d,1,176.8\n" % (p3, d3))
        r = subprocess.run([leopards, "record", "daily", "--db", srv.db, "--data", csv, "--user", "inv-ICU01"],
                           capture_output=True, text=True)
        check(r.returncode == 0 and "kept as 2 mg/dL" in r.stderr, "the command line takes the CSV column (%s)" % r.stderr)
        a, c = stored(srv, p2, d2, "creatinine"), stored(srv, p3, d3, "creatinine")
        check(a == c == 2.0, "the API and the command line store the same value (%r, %r)" % (a, c))
        st, _, body = webutil.request(srv.url + "/api/v1/scores/sofa?creatinine_umol_l=309.4", headers=h)
        check(st == 200 and '"renal": 3' in body.replace('"renal":3', '"renal": 3'),
              "the live score's API takes umol/L (%s)" % body)
    finally:
        for p in people:
            p.quit()
        srv.stop()
    if B.failures:
        print("%d check(s) failed" % len(B.failures))
        sys.exit(1)
    print("all unit checks passed; screenshots in " + outdir)


if __name__ == "__main__":
    main()
