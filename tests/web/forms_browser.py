"""The case report forms in a real headless Chromium, as a nurse uses them: an
investigator opens a patient's forms (each with its state), fills a daily ICU form
whose day is shown as its 24 hours since randomisation and sees the SOFA by organ
system as she types (the live score, from /forms.js) and after submitting (the
server's); an impossible value is refused with the error beside each failing field at
once; a draft is saved, listed as in progress and resumed; changing the saved form
asks for a reason. The same form without script still submits and shows the server's
SOFA. The baseline form (APACHE II points from its worksheet), the infusion log (the
protocol's next step and the pump rate), the outcome form and an adverse event (a
serious unexpected related one flagged for expedited reporting) are each opened and
photographed. A monitor sees the forms read-only and cannot post; another site's
investigator cannot open them. A screenshot of each form goes to OUTDIR.

usage: forms_browser.py LEOPARDS OUTDIR"""
import json
import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser as B  # noqa: E402  (Person, check, failures)
import webutil  # noqa: E402

check = B.check
NURSE_PW = "amber-kettle-river-42"


def api_login(srv, user, pw):
    st, _, body = webutil.request(srv.url + "/api/v1/login", "POST", {"user": user, "password": pw})
    assert st == 200, body
    return {"Authorization": "Bearer " + json.loads(body)["token"]}


def find_day(srv, h, site):
    """A patient of `site` with an empty daily form whose 24 hours are over."""
    import sqlite3
    db = sqlite3.connect(srv.db)
    rows = db.execute("SELECT r.patient FROM randomisations r JOIN sites s ON s.id=r.site_id WHERE s.code=? "
                      "AND r.patient NOT IN (SELECT patient FROM outcomes) ORDER BY r.randomized_at", (site,)).fetchall()
    rows += db.execute("SELECT r.patient FROM randomisations r JOIN sites s ON s.id=r.site_id WHERE s.code=? "
                       "ORDER BY r.randomized_at", (site,)).fetchall()
    db.close()
    for (p,) in rows:
        st, _, body = webutil.request(srv.url + "/api/v1/patients/%s/forms" % p, headers=h)
        if st != 200:
            continue
        for f in json.loads(body)["forms"]:
            if f["form"] == "daily" and f["state"] == "empty" and f["due"]:
                return p, f["key"]
    raise RuntimeError("no patient of %s with an empty daily form that is due" % site)


def find_infusing(srv, h, site):
    """A patient of `site` whose infusion log has begun and not ended."""
    import sqlite3
    db = sqlite3.connect(srv.db)
    rows = db.execute("SELECT r.patient FROM randomisations r JOIN sites s ON s.id=r.site_id WHERE s.code=? "
                      "AND r.patient IN (SELECT patient FROM infusions) AND r.patient NOT IN (SELECT patient FROM "
                      "infusions WHERE event IN ('end', 'stop')) ORDER BY r.randomized_at DESC", (site,)).fetchall()
    rows += db.execute("SELECT r.patient FROM randomisations r JOIN sites s ON s.id=r.site_id WHERE s.code=? "
                       "AND r.patient NOT IN (SELECT patient FROM infusions)", (site,)).fetchall()
    db.close()
    if rows:
        return rows[0][0]
    # none: a new patient, screened and randomised through the API
    inputs = {k: float(v) for k, v in webutil.ELIGIBLE.items()}
    st, _, body = webutil.request(srv.url + "/api/v1/screenings", "POST",
                                  dict(inputs, site=site, patient="WEB-INF-1"), headers=h)
    assert st == 201, body
    st, _, body = webutil.request(srv.url + "/api/v1/consents", "POST",
                                  {"patient": "WEB-INF-1", "consent_by": "patient", "consented_at": "2020-01-01T00:00",
                                   "taken_by": "Nurse Adams", "form_version": "3.1"}, headers=h)
    assert st == 201, body
    st, _, body = webutil.request(srv.url + "/api/v1/randomisations", "POST",
                                  {"site": site, "patient": "WEB-INF-1"}, headers=h)
    assert st in (200, 201), body
    return "WEB-INF-1"


def click_button(p, value):
    old = p.d.find_element(By.TAG_NAME, "html")
    p.d.find_element(By.CSS_SELECTOR, "button[name=action][value=%s]" % value).click()
    WebDriverWait(p.d, 30).until(webutil.gone(old))


def text_of(p, css):
    els = p.d.find_elements(By.CSS_SELECTOR, css)
    return els[0].text if els else ""


DAY = {"f-pao2": "70", "f-fio2": "0.5", "f-resp_support": "1", "f-platelets": "90", "f-bilirubin": "1.5",
       "f-map": "68", "f-norepinephrine": "0.2", "f-gcs": "14", "f-creatinine": "2.5", "f-urine_ml": "800",
       "f-in_icu": "1", "f-mech_vent": "1", "f-rrt": "0"}
# PaO2/FiO2 140 with support: 3; platelets 90: 2; bilirubin 1.5: 1; norepinephrine 0.2: 4;
# GCS 14: 1; creatinine 2.5: 2
SOFA = {"respiratory": "3", "coagulation": "2", "hepatic": "1", "cardiovascular": "4", "cns": "1", "renal": "2"}


def sofa_shown(p):
    return {k: text_of(p, "td[data-sofa-system=%s]" % k) for k in SOFA}


def daily_form(nurse, patient, day):
    base = "/patients/%s/forms/daily/%d" % (patient, day)
    nurse.go("/patients/" + patient)
    t = nurse.text()
    check("Forms" in t and "Daily ICU record, day %d" % day in t, "the patient page lists the forms, day %d too" % day)
    row = nurse.d.find_element(By.ID, "form-daily-%d" % day).text
    check("empty" in row, "day %d is listed as empty (%s)" % (day, row))
    nurse.shot("patient-forms")
    nurse.go(base)
    t = nurse.text()
    check("Day %d is the %d" % (day, day) in t and "24 hours after randomisation" in t and "not a calendar day" in t,
          "the daily form says what day %d means" % day)
    check("UTC" in text_of(nurse, "dl.day"), "the day's start and end are shown")
    lab = nurse.d.find_element(By.CSS_SELECTOR, "label[for=f-map]").text
    check("mmHg" in lab, "labels carry the unit (%s)" % lab)
    el = nurse.d.find_element(By.ID, "f-map")
    check(el.get_attribute("min") == "10" and el.get_attribute("max") == "200", "the range is on the input")
    check("h-map" in el.get_attribute("aria-describedby"), "the help is tied to the input")
    nurse.shot("daily-empty")

    # live SOFA while typing
    for k, v in DAY.items():
        nurse.fill(k, v)
    try:
        WebDriverWait(nurse.d, 10).until(lambda d: sofa_shown(nurse) == SOFA)
    except Exception:
        pass
    check(sofa_shown(nurse) == SOFA, "the SOFA by system is shown live as values are entered (%s)" % sofa_shown(nurse))
    check(text_of(nurse, "#sofa-total5") == "12", "the five-system total is live (%s)" % text_of(nurse, "#sofa-total5"))
    nurse.shot("daily-live-sofa")

    # impossible values: every failing field named at once
    nurse.fill("f-map", "300")
    nurse.fill("f-fio2", "40")
    click_button(nurse, "submit")
    t = nurse.text()
    check("Not saved" in t and "2 problems" in t, "the refusal says how many problems")
    check("outside the plausible range 10 to 200" in text_of(nurse, "#e-map"), "the MAP error is beside the MAP field")
    check("looks like a percentage" in text_of(nurse, "#e-fio2"), "the FiO2 error is beside the FiO2 field")
    check(nurse.d.find_element(By.ID, "f-map").get_attribute("aria-invalid") == "true", "the field is marked invalid")
    check(nurse.d.find_element(By.ID, "f-gcs").get_attribute("value") == "14", "the values entered are kept")
    nurse.shot("daily-errors")

    # a draft, saved, listed as in progress and resumed
    nurse.fill("f-map", "68")
    click_button(nurse, "draft")
    check("Draft saved" in nurse.text(), "the draft is saved")
    nurse.go("/patients/" + patient)
    row = nurse.d.find_element(By.ID, "form-daily-%d" % day).text
    check("in progress" in row, "the form is listed as in progress (%s)" % row)
    nurse.go(base)
    check("This is a draft" in nurse.text(), "the draft is shown on reopening")
    check(nurse.d.find_element(By.ID, "f-fio2").get_attribute("value") == "40"
          and nurse.d.find_element(By.ID, "f-map").get_attribute("value") == "68", "the draft's values are resumed")
    nurse.shot("daily-draft-resumed")

    nurse.fill("f-fio2", "0.5")
    click_button(nurse, "submit")
    t = nurse.text()
    check("Submitted" in t, "the corrected form is submitted")
    check(sofa_shown(nurse) == SOFA, "the server shows the SOFA by system of the saved day (%s)" % sofa_shown(nurse))
    check("This is a draft" not in t, "the draft is gone once the form is submitted")
    nurse.shot("daily-submitted")

    # an edit needs a reason
    nurse.go(base)
    check(len(nurse.d.find_elements(By.ID, "f-reason")) == 1, "the saved form asks for a reason for change")
    nurse.fill("f-map", "64")
    click_button(nurse, "submit")
    check("give a reason for the change" in text_of(nurse, "#e-reason"), "a change without a reason is refused")
    nurse.shot("daily-edit-needs-reason")
    nurse.fill("f-reason", "MAP misread from the chart; 64 is the lowest")
    click_button(nurse, "submit")
    check("Change saved" in nurse.text() and nurse.d.find_element(By.ID, "f-map").get_attribute("value") == "64",
          "the change with a reason is saved")
    nurse.go("/patients/" + patient)
    row = nurse.d.find_element(By.ID, "form-daily-%d" % day).text
    check("complete" in row, "the day is listed as complete (%s)" % row)
    nurse.go("/audit?patient=" + patient)
    check("MAP misread from the chart" in nurse.text(), "the reason is in the audit trail")


def other_forms(nurse, patient):
    nurse.go("/patients/%s/forms/baseline" % patient)
    check("APACHE II worksheet" in nurse.text() and "SOFA by organ system" in nurse.text(),
          "the baseline form has the APACHE II worksheet and the SOFA")
    for k, v in {"f-ap_temperature": "39.2", "f-ap_resp_rate": "30", "f-ap_ph": "7.28", "f-ap_sodium": "134",
                 "f-ap_potassium": "4.1", "f-ap_hematocrit": "31", "f-ap_wbc": "17",
                 "f-ap_acute_renal_failure": "0", "f-ap_chronic_health": "0", "f-ap_admission": "nonoperative"}.items():
        nurse.fill(k, v)
    click_button(nurse, "draft")
    check(text_of(nurse, "#apache2-total").isdigit(), "the APACHE II points are shown (%s)" % text_of(nurse, "#apache2-total"))
    nurse.shot("baseline")
    nurse.go("/patients/%s/forms/infusion" % nurse.infusing)  # an infusion running or to start
    check("Events so far" in nurse.text(), "the infusion log lists the events")
    if nurse.d.find_elements(By.ID, "obs_hours"):
        nurse.fill("obs_hours", "3")
        nurse.fill("obs_map", "72")
        nurse.fill("obs_hr", "95")
    nurse.fill("weight", "82")
    old = nurse.d.find_element(By.TAG_NAME, "html")
    nurse.d.find_element(By.CSS_SELECTOR, "form[method=get] button[type=submit]").click()
    WebDriverWait(nurse.d, 30).until(webutil.gone(old))
    sug = text_of(nurse, "#suggestion")
    check("Next step" in sug, "the protocol's next step is suggested (%s)" % sug)
    check("mL/h" in sug, "with the pump rate in mL/h")
    nurse.shot("infusion")
    nurse.go("/patients/%s/forms/outcome" % patient)
    check("ICU discharge date" in nurse.text(), "the outcome form")
    nurse.shot("outcome")
    # why the drug was not started: a choice of the form's codes, required when it was not
    opts = [o.get_attribute("value") for o in nurse.d.find_elements(By.CSS_SELECTOR, "#f-not_received_reason option")]
    check({"died", "clinical_improvement", "trial_halted", "other"} <= set(opts),
          "the outcome form offers the reasons the drug was not started (%s)" % opts)
    nurse.fill("f-received_drug", "0")
    click_button(nurse, "submit")
    check("say why the study drug was not started" in nurse.text(), "a drug not received needs its reason")
    nurse.fill("f-not_received_reason", "trial_halted")
    click_button(nurse, "submit")
    check("Submitted" in nurse.text(), "the outcome with its reason is recorded")
    nurse.shot("outcome-not-received")
    nurse.go("/patients/%s/forms/ae" % patient)
    st, _, _ = 0, 0, 0
    for k, v in {"f-onset": nurse.srv.today, "f-category": "bradycardia", "f-term": "sinus bradycardia 38/min",
                 "f-serious": "1", "f-relatedness": "probable", "f-expected": "0", "f-outcome": "resolved"}.items():
        nurse.fill(k, v)
    click_button(nurse, "submit")
    t = nurse.text()
    check("Submitted" in t, "the adverse event is recorded")
    check("expedited reporting" in t, "a serious unexpected related event is flagged for expedited reporting")
    nurse.shot("adverse-event-susar")


def main():
    leopards, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    srv = webutil.Server(leopards)
    import datetime
    srv.today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    people = []
    try:
        pw = srv.passwords
        nurse = B.Person(srv, outdir, "forms-1-investigator")
        people.append(nurse)
        nurse.login_first_time("inv-ICU01", pw["inv-ICU01"], NURSE_PW)
        h = api_login(srv, "inv-ICU01", NURSE_PW)
        patient, day = find_day(srv, h, "ICU01")
        nurse.infusing = find_infusing(srv, h, "ICU01")
        print("patient %s, day %d; infusion running: %s" % (patient, day, nurse.infusing))
        daily_form(nurse, patient, day)
        other_forms(nurse, patient)

        # without script: the server's SOFA after submitting
        st, _, js = webutil.request(srv.url + "/forms.js")
        check(st == 200 and "fetch(" in js, "the script is a file of its own")
        nurse.go("/patients/%s/forms/daily/%d" % (patient, day))
        check(len(nurse.d.find_elements(By.CSS_SELECTOR, "script:not([src])")) == 0, "no inline script")

        # a monitor reads, cannot write; another site cannot open
        mon = B.Person(srv, outdir, "forms-2-monitor")
        people.append(mon)
        mon.login_first_time("monitor", pw["monitor"], "maple-signal-forty-6")
        mon.go("/patients/%s/forms/daily/%d" % (patient, day))
        check("Read-only" in mon.text() and not mon.d.find_elements(By.CSS_SELECTOR, "button[name=action]"),
              "the monitor sees the form read-only")
        check(mon.d.find_element(By.ID, "f-map").get_attribute("disabled") is not None, "... its inputs disabled")
        mon.shot("daily-read-only")
        hm = api_login(srv, "monitor", "maple-signal-forty-6")
        st, _, body = webutil.request(srv.url + "/api/v1/patients/%s/records/daily/%d" % (patient, day), "POST",
                                      {"record": {"map": 70}, "reason": "x"}, headers=hm)
        check(st == 403, "the monitor cannot post a record (%d)" % st)
        other = B.Person(srv, outdir, "forms-3-investigator-ICU02")
        people.append(other)
        other.login_first_time("inv-ICU02", pw["inv-ICU02"], "copper-lantern-seven-9")
        other.go("/patients/%s/forms/daily/%d" % (patient, day))
        check("Not allowed" in other.text() and "f-map" not in other.d.page_source,
              "another site's investigator cannot open the form")

        # no script at all: the form still works and the server scores it
        import selenium.webdriver as wd
        o = wd.ChromeOptions()
        o.binary_location = "/usr/bin/chromium"
        nojs = B.Person.__new__(B.Person)
        nojs.srv, nojs.outdir, nojs.tag, nojs.n = srv, outdir, "forms-4-investigator-no-script", 0
        import tempfile
        nojs.profile = tempfile.mkdtemp(prefix="leopards-chromium-")
        for f in ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + nojs.profile,
                  "--window-size=1100,1400", "--blink-settings=scriptEnabled=false"]:
            o.add_argument(f)
        from selenium.webdriver.chrome.service import Service
        nojs.d = wd.Chrome(options=o, service=Service(executable_path="/usr/bin/chromedriver"))
        people.append(nojs)
        nojs.go("/login")
        nojs.fill("user", "inv-ICU01")
        nojs.fill("password", NURSE_PW)
        nojs.submit("/login")
        nojs.go("/patients/%s/forms/daily/%d" % (patient, day))
        nojs.fill("f-gcs", "13")
        nojs.fill("f-reason", "GCS re-assessed off sedation")
        click_button(nojs, "submit")
        check("Change saved" in nojs.text() and text_of(nojs, "td[data-sofa-system=cns]") == "1",
              "without script the form submits and the server scores the SOFA")
        nojs.shot("daily-no-script")
    finally:
        for p in people:
            p.quit()
        log = srv.stop()
        check("stopped, the store closed cleanly" in log, "the server stops cleanly on SIGTERM")
    if B.failures:
        print("%d check(s) failed" % len(B.failures))
        sys.exit(1)
    print("all form checks passed; screenshots in " + outdir)


if __name__ == "__main__":
    main()
