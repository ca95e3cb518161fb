"""What a nurse sees, in a real headless Chromium: an investigator logs in with a
one-time password and chooses their own, screens an ineligible patient (the failed
criteria named in words) and an eligible one, is told that randomisation needs a consent
record, records a personal legal representative's consent on the consent form, randomises
(confirmation, then the pack number, never the arm) and sees the retrospective consent owed
on the patient page and the site dashboard; the investigator of another site can neither open that patient
nor unblind them; the first investigator unblinds with a reason and the password and
sees the arm once; the manager sees the unblinding on the home page and in the audit
view; after logout the old session cookie no longer works. A screenshot of each page
goes to the output folder (argv[2]).

usage: browser.py LEOPARDS OUTDIR"""
import datetime
import os
import re
import shutil
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures  # noqa: E402



def browser(profile):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for f in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run",
              "--user-data-dir=" + profile, "--window-size=1100,1400"]:
        o.add_argument(f)
    from selenium.webdriver.chrome.service import Service
    svc = Service(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=o, service=svc)


class Person:
    def __init__(self, srv, outdir, tag):
        self.srv, self.outdir, self.tag = srv, outdir, tag
        self.profile = tempfile.mkdtemp(prefix="leopards-chromium-")
        self.d = browser(self.profile)
        self.n = 0

    def shot(self, name):
        # a page reached by a form's button may still be loading: measure it once loaded
        WebDriverWait(self.d, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        self.n += 1
        path = os.path.join(self.outdir, "%s-%02d-%s.png" % (self.tag, self.n, name))
        h = self.d.execute_script("return document.body.scrollHeight") or 1400
        # the window's size includes the browser's own bars: the page gets the rest
        bars = self.d.execute_script("return window.outerHeight - window.innerHeight") or 0
        self.d.set_window_size(1100, min(max(h + 40, 600), 6000) + max(bars, 0))
        self.d.execute_script("window.scrollTo(0, 0)")
        self.d.save_screenshot(path)
        return path

    def go(self, path):
        self.d.get(self.srv.url + path)

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def fill(self, field_id, value):
        el = self.d.find_element(By.ID, field_id)
        if el.tag_name == "select":
            Select(el).select_by_value(value)
        elif el.get_attribute("type") == "datetime-local":  # typing into it depends on the locale
            self.d.execute_script("arguments[0].value = arguments[1]", el, value)
        else:
            el.clear()
            el.send_keys(value)

    def submit(self, form_action):
        """Press the form's button and wait for the next page to replace this one."""
        old = self.d.find_element(By.TAG_NAME, "html")
        self.d.find_element(By.CSS_SELECTOR, "form[action='%s'] button[type=submit]" % form_action).click()
        WebDriverWait(self.d, 30).until(webutil.gone(old))

    def click(self, link_text):
        old = self.d.find_element(By.TAG_NAME, "html")
        self.d.find_element(By.LINK_TEXT, link_text).click()
        WebDriverWait(self.d, 30).until(webutil.gone(old))

    def login_first_time(self, user, one_time, new):
        self.go("/login")
        self.shot("login")
        self.fill("user", user)
        self.fill("password", one_time)
        self.submit("/login")
        check(self.d.current_url.endswith("/password"), user + ": a one-time password leads to the password change")
        check("Choose your own password" in self.text(), user + ": the page asks for their own password")
        self.shot("first-password")
        self.go("/home")
        check(self.d.current_url.endswith("/password"), user + ": nothing else opens before the change")
        self.fill("current", one_time)
        self.fill("new", new)
        self.fill("again", new)
        self.submit("/password")
        check(self.d.current_url.endswith("/home"), user + ": after the change, the home page")
        self.shot("home")

    def quit(self):
        self.d.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


def screen(p, patient, values):
    p.go("/screen")
    p.fill("patient", patient)
    for k, v in values.items():
        p.fill("f-" + k, v)


def main():
    leopards, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    srv = webutil.Server(leopards)
    people = []
    try:
        pw = srv.passwords
        check(set(pw) >= {"manager", "inv-ICU01", "inv-ICU02", "statistician", "monitor"},
              "the demo printed a one-time password for each role")
        nurse = Person(srv, outdir, "1-investigator-ICU01")
        people.append(nurse)
        nurse.login_first_time("inv-ICU01", pw["inv-ICU01"], "amber-kettle-river-42")

        # an ineligible patient: the failed criteria in words
        values = dict(webutil.ELIGIBLE, age="17", weight_kg="150")
        screen(nurse, "WEB-INEL-1", values)
        nurse.shot("screening-form")
        nurse.submit("/screen")
        t = nurse.text()
        check("not eligible" in t, "an ineligible patient is said to be not eligible")
        check("younger than 18 years" in t and "weight over 135 kg" in t, "the failed criteria are named in words")
        nurse.shot("screening-ineligible")

        # an eligible one: randomisation waits for the consent, then goes through
        screen(nurse, "WEB-ELIG-1", webutil.ELIGIBLE)
        nurse.submit("/screen")
        check("eligible" in nurse.text() and "not eligible" not in nurse.text(), "an eligible patient is eligible")
        nurse.shot("screening-eligible")
        nurse.click("Randomise this patient")
        check("No consent is recorded" in nurse.text() and "Confirm and randomise" not in nurse.text(),
              "without a consent record the randomisation is not offered, and the page says why")
        nurse.shot("randomise-needs-consent")
        nurse.click("Record consent")
        check("Record consent" in nurse.text() and "legal representative" in nurse.text(), "the consent form")
        nurse.fill("f-consent_by", "personal_representative")
        when = (datetime.datetime.utcnow() - datetime.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")
        nurse.fill("f-consented_at", when)
        nurse.fill("f-taken_by", "Nurse Adams")
        nurse.fill("f-form_version", "3.1")
        nurse.shot("consent-form")
        nurse.submit("/consent")
        t = nurse.text()
        check("Consent recorded" in t and "personal legal representative" in t and "owes retrospective consent" in t,
              "the consent is recorded, and the retrospective consent it leaves owed is said")
        nurse.shot("consent-recorded")
        nurse.click("Randomise this patient")
        check("Confirm and randomise" in nurse.text(), "randomisation asks for confirmation first")
        check("Consent: a personal legal representative" in nurse.text(), "the confirmation shows the consent")
        nurse.shot("randomise-confirm")
        nurse.submit("/randomise")
        pack = nurse.d.find_element(By.ID, "pack").text
        check(re.fullmatch(r"\d{6}", pack) is not None, "the pack number is shown (%s)" % pack)
        size = nurse.d.find_element(By.ID, "pack").value_of_css_property("font-size")
        check(float(size.replace("px", "")) >= 40, "the pack number is in large type (%s)" % size)
        t = nurse.text().lower()
        check("levosimendan" not in t and "placebo" not in t, "the randomisation page never shows the arm")
        nurse.shot("randomised-pack")
        nurse.go("/patients/WEB-ELIG-1")
        t = nurse.text()
        check(pack in t and "levosimendan" not in t.lower() and "placebo" not in t.lower(),
              "the patient page shows the pack, not the arm")
        check("Retrospective consent owed" in t, "the patient page says retrospective consent is owed")
        nurse.shot("patient")
        nurse.go("/status")
        check("WEB-ELIG-1" in nurse.text() and "retrospective consent owed" in nurse.text(),
              "the site dashboard lists the retrospective consent owed")
        nurse.shot("dashboard-consent-due")

        # the investigator of another site
        other = Person(srv, outdir, "2-investigator-ICU02")
        people.append(other)
        other.login_first_time("inv-ICU02", pw["inv-ICU02"], "copper-lantern-seven-9")
        other.go("/patients/WEB-ELIG-1")
        check("Not allowed" in other.text() and pack not in other.text(),
              "another site's investigator cannot open the patient")
        other.shot("other-site-patient-refused")
        other.go("/unblind?patient=WEB-ELIG-1")
        check("Not allowed" in other.text() and "Reason" not in other.text(),
              "another site's investigator cannot unblind the patient")
        other.shot("other-site-unblind-refused")

        # emergency unblinding by the first investigator
        nurse.go("/patients/WEB-ELIG-1")
        old = nurse.d.find_element(By.TAG_NAME, "html")
        nurse.d.find_element(By.LINK_TEXT, "Emergency unblinding").click()
        WebDriverWait(nurse.d, 30).until(webutil.gone(old))
        nurse.shot("unblind-form")
        nurse.fill("reason", "suspected drug reaction: the treating team needs the allocation")
        nurse.fill("password", "amber-kettle-river-42")
        nurse.submit("/unblind")
        arm = nurse.d.find_element(By.ID, "arm").text
        check(arm in ("levosimendan", "placebo"), "the arm is shown to the investigator (%s)" % arm)
        check("shown once" in nurse.text(), "the page says it is shown once")
        nurse.shot("unblinded-arm")
        nurse.go("/patients/WEB-ELIG-1")
        t = nurse.text().lower()
        check("levosimendan" not in t and "placebo" not in t and "emergency unblindings: 1" in t,
              "afterwards the patient page counts the unblinding but does not show the arm again")

        # the manager sees it
        mgr = Person(srv, outdir, "3-manager")
        people.append(mgr)
        mgr.login_first_time("manager", pw["manager"], "violet-harbour-crane-31")
        t = mgr.text()
        check("WEB-ELIG-1" in t and "suspected drug reaction" in t and "inv-ICU01" in t,
              "the manager's home page lists the unblinding")
        check("levosimendan" not in t.lower() and "placebo" not in t.lower(), "... without the arm")
        mgr.go("/audit?patient=WEB-ELIG-1")
        t = mgr.text()
        check("unblindings" in t and "suspected drug reaction" in t, "the audit view shows the unblinding")
        mgr.shot("audit-patient")
        mgr.go("/status")
        check("ICU01" in mgr.text() and "Randomised by month" in mgr.text(), "the manager's dashboard")
        mgr.shot("dashboard")
        mgr.go("/users")
        check("inv-ICU02" in mgr.text() and "monitor" in mgr.text(), "the users page")
        mgr.shot("users")

        # the site dashboard of the investigator, and logout
        nurse.go("/status")
        check("Site dashboard" in nurse.text() and "ICU02" not in nurse.text(), "the site dashboard shows one site")
        nurse.shot("site-dashboard")
        nurse.go("/audit")
        nurse.shot("audit-site")
        old = nurse.d.get_cookie("lp_session")
        check(old is not None and old.get("httpOnly") and old.get("sameSite") == "Strict",
              "the session cookie is HttpOnly and SameSite=Strict")
        code, _, _ = webutil.request(srv.url + "/home", headers={"Cookie": "lp_session=" + old["value"]})
        check(code == 200, "the cookie works before logout")
        nurse.go("/home")
        nurse.submit("/logout")
        check(nurse.d.current_url.endswith("/login"), "logout leads to the login page")
        nurse.shot("logged-out")
        code, h, _ = webutil.request(srv.url + "/home", headers={"Cookie": "lp_session=" + old["value"]})
        check(code == 303 and h.get("Location") == "/login", "after logout the old session cookie no longer works")
        code, _, _ = webutil.request(srv.url + "/api/v1/session", headers={"Cookie": "lp_session=" + old["value"]})
        check(code == 401, "... nor for the API")

        # a phone-sized screen
        phone = other
        phone.d.set_window_size(390, 844)
        phone.go("/screen")
        phone.d.save_screenshot(os.path.join(outdir, "2-investigator-ICU02-phone-screening.png"))
        width = phone.d.execute_script("return document.documentElement.scrollWidth")
        check(width <= 400, "the screening form fits a phone's width (%s px)" % width)
    finally:
        for p in people:
            p.quit()
        log = srv.stop()
        check("stopped, the store closed cleanly" in log, "the server stops cleanly on SIGTERM")
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all browser checks passed; screenshots in " + outdir)


if __name__ == "__main__":
    main()
