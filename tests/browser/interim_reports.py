#!/usr/bin/python3
"""The blinded and the closed (DMC) reports of a trial in progress in headless Chromium:
the closed report's "CONFIDENTIAL: closed report" banner and heading are visible text at
the top of the page (not hidden, on screen, before any table), every id is unique, the
figures' labels are text nodes; the blinded page shows no arm's name and its figures one
series each. A screenshot of each page and figure is written for a person to look at.

usage: interim_reports.py LEOPARDS_BINARY SCREENSHOT_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

LP, SHOTS = sys.argv[1], sys.argv[2]
BANNER = "CONFIDENTIAL: closed report"
checks = 0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        fail(msg)


def run(*args):
    subprocess.run([LP, *args], check=True, stdout=subprocess.DEVNULL)


def unique_ids(driver, page):
    ids = driver.execute_script("return Array.from(document.querySelectorAll('[id]')).map(e => e.id);")
    dup = sorted({i for i in ids if ids.count(i) > 1})
    check(not dup, "%s: ids used more than once: %s" % (page, dup[:10]))


def visible_at_top(driver, el, what):
    """Displayed, with text, inside the first screen and above the first table."""
    check(el.is_displayed(), what + " is not displayed")
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.top, r.height];", el)
    check(rect[1] > 0 and rect[0] >= 0 and rect[0] < 600, what + " is not on the first screen: %s" % rect)
    first_table = driver.execute_script("const t = document.querySelector('table'); return t ? "
                                        "t.getBoundingClientRect().top : 1e9;")
    check(rect[0] < first_table, what + " is below the first table")


def figure_shots(driver, page):
    for fig in driver.find_elements(By.CSS_SELECTOR, "figure"):
        fid = fig.get_attribute("id")
        n = driver.execute_script("return document.querySelectorAll('figure#' + arguments[0] + ' svg text').length;",
                                  fid)
        check(n >= 5, "%s %s: only %d text nodes" % (page, fid, n))
        driver.execute_script("arguments[0].scrollIntoView();", fig)
        check(fig.screenshot(os.path.join(SHOTS, "%s_%s.png" % (page, fid))), "%s %s: screenshot" % (page, fid))


def main():
    os.makedirs(SHOTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lp-interim-")
    profile = tempfile.mkdtemp(prefix="lp-chromium-")
    driver = None
    try:
        run("simulate", "--db", tmp + "/t.db", "--key", tmp + "/t.key", "--seed", "9", "--patients", "120", "--sites",
            "4", "--screened", "400", "--stop-after", "60", "--quiet")
        run("report", "--blinded", "--db", tmp + "/t.db", "--user", "manager", "--out", tmp + "/blinded")
        run("report", "--dmc", "--db", tmp + "/t.db", "--key", tmp + "/t.key", "--user", "statistician", "--out",
            tmp + "/closed", "--boot", "500", "--imputations", "5")
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
                  "--window-size=1200,1600", "--hide-scrollbars"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)

        driver.get("file://" + tmp + "/closed/report.html")
        check(driver.title.startswith(BANNER), "closed: the page title %r" % driver.title)
        h1 = driver.find_element(By.TAG_NAME, "h1")
        check(h1.text.startswith(BANNER), "closed: the heading %r" % h1.text)
        visible_at_top(driver, h1, "closed: the heading")
        banner = driver.find_element(By.CSS_SELECTOR, "p.banner")
        check(banner.text == BANNER, "closed: the banner %r" % banner.text)
        visible_at_top(driver, banner, "closed: the banner")
        body = driver.find_element(By.TAG_NAME, "body").text
        check(body.index("Safety") < body.index("Primary outcome so far"), "closed: safety does not come first")
        check("Levosimendan" in body and "Placebo" in body, "closed: the arms are not named")
        unique_ids(driver, "closed")
        driver.save_screenshot(os.path.join(SHOTS, "closed_top.png"))
        figure_shots(driver, "closed")

        driver.get("file://" + tmp + "/blinded/report.html")
        body = driver.find_element(By.TAG_NAME, "body").text
        check("placebo" not in body.lower() and "levosimendan" not in body.lower(), "blinded: an arm is named")
        check(BANNER not in body, "blinded: the closed banner")
        h1 = driver.find_element(By.TAG_NAME, "h1")
        visible_at_top(driver, h1, "blinded: the heading")
        check(h1.text.startswith("Blinded report"), "blinded: the heading %r" % h1.text)
        for fid in ("figure_recruitment", "figure_sofa"):
            n = driver.execute_script("return document.querySelectorAll('figure#' + arguments[0] + ' text.legend')"
                                      ".length;", fid)
            check(n == 1, "blinded %s: %d series" % (fid, n))
        unique_ids(driver, "blinded")
        driver.save_screenshot(os.path.join(SHOTS, "blinded_top.png"))
        figure_shots(driver, "blinded")
    finally:
        if driver:
            driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)
    print("interim_reports: %d checks passed; screenshots in %s" % (checks, SHOTS))


main()
