"""The data-capture story end to end, in a real headless Chromium and through the web
pages only. The trial, its users and one randomised patient are set up with the command
line; the server then runs two days later (faketime), so that the patient's first ICU
day is over. Then:

 1. the research nurse logs in, opens day 1 of the patient's daily form, enters the
    values and sees the SOFA by organ system as she types and after submitting;
 2. a creatinine of 11.4 mg/dL (a soft check) is saved with a warning, and an open query
    on that field appears on the patient's page and on the site's home page;
 3. the nurse answers the query on its page (an explanation);
 4. the monitor logs in, closes the query and verifies the form against the source;
 5. the nurse changes a value of the verified form with a reason: the page says that the
    verification is cleared, and the audit view shows the old and the new value side by
    side;
 6. the site's principal investigator signs the casebook, giving the password again; the
    signature shows the printed name, the time and the meaning;
 7. the monitor raises a query by hand on the form's page, and the statistician's lock on
    the lock page is refused while it is open, saying why.

Every step checks what the person sees and writes a screenshot to OUTDIR.

usage: story_browser.py LEOPARDS OUTDIR"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser as B  # noqa: E402  (Person, check, failures)
import webutil  # noqa: E402

check = B.check
FAKETIME = ["env", "ASAN_OPTIONS=%s%sverify_asan_link_order=0" % (os.environ.get("ASAN_OPTIONS", ""),
                                                               ":" if os.environ.get("ASAN_OPTIONS") else ""),
            "faketime", "-f", "+2d"]
# one-time passwords set by the manager, and the ones each person chooses
ONE_TIME = {"nurse-adams": "first-login-nurse-71", "dr-baker": "first-login-pi-72",
            "monitor-chen": "first-login-monitor-73", "stat-dunn": "first-login-stat-74"}
OWN = {"nurse-adams": "amber-kettle-river-42", "dr-baker": "harbour-violet-ninety-5",
       "monitor-chen": "maple-signal-forty-6", "stat-dunn": "pebble-comet-thirty-1"}
PATIENT = "S01-0001"


def run(leopards, *args, stdin=None):
    r = subprocess.run([leopards] + list(args), input=stdin, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("leopards %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


def set_up(leopards, d):
    """A one-site trial with its people and one patient randomised now."""
    db, key = os.path.join(d, "trial.db"), os.path.join(d, "trial.key")
    run(leopards, "trial", "init", "--db", db, "--sites", "1", "--user", "mgr")
    run(leopards, "user", "add", "--db", db, "--name", "nurse-adams", "--role", "investigator", "--site", "S01",
        "--user", "mgr")
    run(leopards, "user", "add", "--db", db, "--name", "dr-baker", "--role", "investigator", "--site", "S01", "--pi",
        "--full-name", "Dr Helen Baker", "--user", "mgr")
    run(leopards, "user", "add", "--db", db, "--name", "monitor-chen", "--role", "monitor", "--user", "mgr")
    run(leopards, "user", "add", "--db", db, "--name", "stat-dunn", "--role", "statistician", "--user", "mgr")
    for name, pw in ONE_TIME.items():
        run(leopards, "user", "passwd", "--db", db, "--name", name, "--user", "mgr", stdin=pw + "\n")
    run(leopards, "list", "generate", "--db", db, "--key", key, "--user", "stat-dunn", "--initial-per-site", "8")
    import json
    run(leopards, "screen", "--db", db, "--site", "S01", "--patient", PATIENT, "--user", "nurse-adams", "--json-in",
        json.dumps({k: float(v) for k, v in webutil.ELIGIBLE.items()}))
    before = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())  # after the screening, to the minute
    run(leopards, "record", "consent", "--db", db, "--patient", PATIENT, "--consent-by", "patient", "--consented-at",
        before, "--taken-by", "Nurse Adams", "--form-version", "3.1", "--user", "nurse-adams")
    run(leopards, "randomize", "--db", db, "--site", "S01", "--patient", PATIENT, "--user", "nurse-adams")
    return db, key


class Server:
    """`leopards serve` on the trial, two days on (its own process, stopped at the end)."""

    def __init__(self, leopards, d, db, key):
        self.out = open(os.path.join(d, "serve.log"), "w+")
        self.proc = subprocess.Popen(FAKETIME + [leopards, "serve", "--db", db, "--key", key, "--listen",
                                                 "127.0.0.1:0", "--workers", "2"],
                                     stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline, text = time.time() + 60, ""
        while time.time() < deadline:
            self.out.seek(0)
            text = self.out.read()
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", text)
            if m:
                self.url = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("the server did not start:\n" + text)

    def stop(self):
        """SIGTERM to the process group (faketime's wrapper and the server under it), then
        wait until the server itself has gone."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.time() + 30
            while time.time() < deadline:
                os.killpg(self.proc.pid, 0)
                time.sleep(0.2)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.out.seek(0)
        return self.out.read()


def click_button(p, value):
    old = p.d.find_element(By.TAG_NAME, "html")
    p.d.find_element(By.CSS_SELECTOR, "button[name=action][value=%s]" % value).click()
    WebDriverWait(p.d, 30).until(webutil.gone(old))


def text_of(p, css):
    els = p.d.find_elements(By.CSS_SELECTOR, css)
    return els[0].text if els else ""


def form_row(p):
    return text_of(p, "#form-daily-1")


DAY = {"f-pao2": "70", "f-fio2": "0.5", "f-resp_support": "1", "f-platelets": "90", "f-bilirubin": "1.5",
       "f-map": "68", "f-norepinephrine": "0.2", "f-gcs": "14", "f-creatinine": "2.5", "f-urine_ml": "800",
       "f-in_icu": "1", "f-mech_vent": "1", "f-rrt": "0"}
# PaO2/FiO2 140 with support: 3; platelets 90: 2; bilirubin 1.5: 1; norepinephrine 0.2: 4;
# GCS 14: 1; creatinine 2.5: 2 (11.4: 4)
SOFA = {"respiratory": "3", "coagulation": "2", "hepatic": "1", "cardiovascular": "4", "cns": "1", "renal": "2"}


def sofa_shown(p):
    return {k: text_of(p, "td[data-sofa-system=%s]" % k) for k in SOFA}


def step1_daily_form(nurse):
    nurse.go("/patients/" + PATIENT)
    check("Daily ICU record, day 1" in nurse.text() and "empty" in form_row(nurse),
          "1: the patient's page lists day 1 as empty (%s)" % form_row(nurse))
    nurse.d.find_element(By.CSS_SELECTOR, "#form-daily-1 a").click()
    WebDriverWait(nurse.d, 30).until(lambda d: d.current_url.endswith("/forms/daily/1"))
    check("Day 1 is the 1st 24 hours after randomisation" in nurse.text(), "1: the form says what day 1 means")
    check("not over yet" not in nurse.text(), "1: two days later the day is over")
    for k, v in DAY.items():
        nurse.fill(k, v)
    try:
        WebDriverWait(nurse.d, 10).until(lambda d: sofa_shown(nurse) == SOFA)
    except Exception:
        pass
    check(sofa_shown(nurse) == SOFA, "1: the SOFA by system is shown live as she types (%s)" % sofa_shown(nurse))
    nurse.shot("daily-live-sofa")
    # the creatinine of the day was 11.4 mg/dL: unusual, not impossible
    nurse.fill("f-creatinine", "11.4")
    try:
        WebDriverWait(nurse.d, 10).until(lambda d: text_of(nurse, "td[data-sofa-system=renal]") == "4")
    except Exception:
        pass
    check(text_of(nurse, "td[data-sofa-system=renal]") == "4", "1: the renal score follows the creatinine live")
    click_button(nurse, "submit")
    t = nurse.text()
    check("Submitted" in t, "1: the form is submitted")
    check(sofa_shown(nurse) == dict(SOFA, renal="4"),
          "1: after submitting, the server's SOFA by system (%s)" % sofa_shown(nurse))
    check(text_of(nurse, "#sofa-total5") == "14", "1: the total is shown (%s)" % text_of(nurse, "#sofa-total5"))
    return t


def step2_soft_check(nurse, t):
    check("Saved with 1 warning" in t and "unusually high" in text_of(nurse, "#warnings"),
          "2: the implausible creatinine is saved with a warning (%s)" % text_of(nurse, "#warnings"))
    nurse.shot("daily-saved-with-warning")
    nurse.go("/patients/" + PATIENT)
    check("queried" in form_row(nurse), "2: the form is listed as queried (%s)" % form_row(nurse))
    pq = text_of(nurse, "#patient-queries + p") + " " + text_of(nurse, "#patient-queries ~ div table")
    check("1 not closed" in pq and "creatinine" in pq and "open" in pq,
          "2: the patient's page lists the open query on the creatinine (%s)" % pq)
    nurse.shot("patient-form-queried")
    nurse.go("/home")
    box = text_of(nurse, "#queries")
    check("Open data queries of your site" in box and PATIENT in box and "creatinine" in box and "open" in box,
          "2: the open query on the creatinine is on the site's home page (%s)" % box)
    nurse.shot("home-open-query")
    return nurse.d.find_element(By.CSS_SELECTOR, "#queries a[href^='/queries/']").get_attribute("href")


def step3_answer(nurse, qurl):
    qpath = "/" + qurl.split("/", 3)[3]
    nurse.go(qpath)
    check("open" in text_of(nurse, ".card") and "creatinine" in text_of(nurse, ".card")
          and "(an edit check)" in nurse.text(), "3: the query page names the field and says who raised it")
    nurse.fill("text", "Checked the lab report: 11.4 mg/dL is right (acute kidney injury)")
    nurse.submit(qpath + "/answer")
    t = nurse.text()
    check("answered" in text_of(nurse, ".card") and "Answer by nurse-adams" in t and "11.4 mg/dL is right" in t,
          "3: the nurse's answer is shown, attributed")
    nurse.shot("query-answered")
    return qpath


def step4_monitor(mon, qpath):
    mon.go("/home")
    check("Answered queries to review" in mon.text() and "creatinine" in text_of(mon, "#queries"),
          "4: the monitor's home page lists the answered query")
    mon.shot("home-answered-query")
    mon.go(qpath)
    mon.fill("close-text", "Agreed with the lab report")
    mon.submit(qpath + "/close")
    check("closed" in text_of(mon, ".card") and "Closed by monitor-chen" in mon.text(), "4: the monitor closes the query")
    mon.shot("query-closed")
    mon.go("/patients/" + PATIENT)
    mon.click("Forms, verification and signature")
    row = mon.d.find_element(By.XPATH, "//tr[td[1][normalize-space()='daily day 1']]")
    check("not verified" in row.text, "4: the daily form is not verified yet (%s)" % row.text)
    old = mon.d.find_element(By.TAG_NAME, "html")
    row.find_element(By.CSS_SELECTOR, "form[action='/verify'] button").click()
    WebDriverWait(mon.d, 30).until(webutil.gone(old))
    row = mon.d.find_element(By.XPATH, "//tr[td[1][normalize-space()='daily day 1']]")
    check("verified by monitor-chen" in row.text, "4: the monitor verifies the form (%s)" % row.text)
    mon.shot("form-verified")
    mon.go("/patients/" + PATIENT)
    check("verified" in form_row(mon), "4: the form is listed as verified (%s)" % form_row(mon))


def step5_edit(nurse):
    nurse.go("/patients/%s/forms/daily/1" % PATIENT)
    nurse.fill("f-gcs", "13")
    nurse.fill("f-reason", "GCS re-assessed off sedation: 13, not 14")
    click_button(nurse, "submit")
    t = nurse.text()
    check("Change saved" in t, "5: the change with a reason is saved")
    notes = text_of(nurse, "#notes")
    check(re.search(r"verified by monitor-chen at \d{4}-\d\d-\d\d \d\d:\d\d UTC: this change clears the "
                    r"verification", notes) is not None,
          "5: the page says that the source data verification is cleared (%s)" % notes)
    nurse.shot("daily-change-clears-verification")
    nurse.go("/sdv?patient=" + PATIENT)
    row = nurse.d.find_element(By.XPATH, "//tr[td[1][normalize-space()='daily day 1']]").text
    check("not verified" in row and "cleared by a change" in row and "GCS re-assessed" in row,
          "5: the forms' page shows the verification cleared, and why (%s)" % row)
    nurse.go("/patients/" + PATIENT)
    check("complete" in form_row(nurse), "5: the form is listed as complete again (%s)" % form_row(nurse))
    nurse.go("/audit?patient=" + PATIENT)
    rows = nurse.d.find_elements(By.XPATH, "//tbody/tr[td[4][contains(., 'update daily')]]"
                                         "[td[6][contains(., 'GCS re-assessed')]]")
    check(len(rows) == 1, "5: the change is one row of the audit view, with its reason")
    if rows:
        cells = rows[0].find_elements(By.TAG_NAME, "td")
        old, new = cells[6].text, cells[7].text
        check(re.search(r"^gcs: 14$", old, re.M) is not None and re.search(r"^gcs: 13$", new, re.M) is not None,
              "5: old and new values side by side (old %r, new %r)" % (old[:80], new[:80]))
        marked = [[m.text for m in c.find_elements(By.TAG_NAME, "mark")] for c in cells[6:8]]
        check(marked == [["gcs: 14"], ["gcs: 13"]], "5: the changed value is marked on both sides (%s)" % marked)
        check(re.search(r"^norepinephrine: 0\.2$", new, re.M) is not None, "5: a value reads as it was entered")
        check("nurse-adams" in cells[2].text, "5: the change is attributed")
    nurse.shot("audit-old-and-new")


def step6_sign(pi):
    pi.go("/patients/" + PATIENT)
    pi.click("Forms, verification and signature")
    check("not signed" in text_of(pi, "#signature"), "6: the casebook is not signed yet")
    pi.click("Sign the casebook")
    check("I confirm these data are complete and accurate" in text_of(pi, "#meaning"), "6: the sign page states the meaning")
    pi.shot("sign")
    pi.fill("password", "not my password at all")
    pi.submit("/sign")
    check(len(pi.d.find_elements(By.CSS_SELECTOR, ".error")) == 1, "6: a wrong password does not sign")
    pi.fill("password", OWN["dr-baker"])
    pi.submit("/sign")
    sig = text_of(pi, "#signature")
    check("signed by Dr Helen Baker (principal investigator" in sig and "no full name" not in sig
          and "I confirm these data are complete and accurate" in sig and re.search(r"\d\d:\d\d", sig) is not None,
          "6: the signature shows the printed name, the time and the meaning (%s)" % sig)
    check(not pi.d.find_elements(By.LINK_TEXT, "Sign the casebook"), "6: a valid signature is not offered again")
    pi.shot("signed")
    pi.go("/patients/" + PATIENT)
    check("signed" in form_row(pi), "6: the form is listed as signed (%s)" % form_row(pi))


def step7_lock_refused(nurse, mon, stat):
    nurse.go("/patients/%s/forms/daily/1" % PATIENT)
    check(not nurse.d.find_elements(By.LINK_TEXT, "Raise a query on this form"), "7: the site raises no queries")
    nurse.go("/queries/new?patient=%s&form=daily&day=1&record=0" % PATIENT)
    check("Not allowed" in nurse.text() and not nurse.d.find_elements(By.ID, "field"),
          "7: nor can it open the page to raise one")
    mon.go("/patients/%s/forms/daily/1" % PATIENT)
    mon.click("Raise a query on this form")
    mon.fill("field", "map")
    check("Raise a data query" in mon.text() and "daily day 1" in mon.text(), "7: the page to raise a query names the form")
    mon.fill("text", "MAP 68 against the chart: the nursing chart shows 58 at 03:00?")
    mon.shot("raise-query")
    mon.submit("/queries/new")
    t = mon.text()
    check("Query" in t and "open" in text_of(mon, ".card") and "map" in text_of(mon, ".card")
          and "by monitor-chen" in t, "7: the monitor raises a query by hand on the MAP")
    mon.shot("query-raised")
    stat.go("/lock")
    check("1 data query open" in stat.text(), "7: the lock page counts the open query (%s)" % text_of(stat, "main p"))
    stat.shot("lock")
    stat.fill("password", OWN["stat-dunn"])
    stat.submit("/lock")
    err = text_of(stat, ".error")
    check("not closed" in err and "query" in err, "7: the lock is refused, saying why (%s)" % err)
    check("The database is locked" not in stat.text(), "7: the database is not locked")
    stat.shot("lock-refused")


def main():
    leopards, outdir = sys.argv[1], sys.argv[2]
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    d = tempfile.mkdtemp(prefix="leopards-story-")
    db, key = set_up(leopards, d)
    srv = Server(leopards, d, db, key)
    people = []
    try:
        def person(tag, user):
            p = B.Person(srv, outdir, tag)
            people.append(p)
            p.login_first_time(user, ONE_TIME[user], OWN[user])
            return p

        nurse = person("story-1-nurse", "nurse-adams")
        t = step1_daily_form(nurse)
        qurl = step2_soft_check(nurse, t)
        qpath = step3_answer(nurse, qurl)
        mon = person("story-2-monitor", "monitor-chen")
        step4_monitor(mon, qpath)
        step5_edit(nurse)
        pi = person("story-3-pi", "dr-baker")
        step6_sign(pi)
        stat = person("story-4-statistician", "stat-dunn")
        step7_lock_refused(nurse, mon, stat)
    finally:
        for p in people:
            p.quit()
        log = srv.stop()
    check("stopped, the store closed cleanly" in log, "the server stops cleanly (%s)" % log[-300:])
    check("Sanitizer" not in log and "runtime error" not in log, "the server reports no memory error (%s)" % log[-2000:])
    shutil.rmtree(d, ignore_errors=True)
    if B.failures:
        print("%d check(s) failed" % len(B.failures))
        sys.exit(1)
    print("the story passed; screenshots in " + outdir)


if __name__ == "__main__":
    main()
