#!/usr/bin/python3
"""report.html in headless Chromium: every id in the document is unique; each inline
figure's labels are SVG text nodes (not glyph outlines) that the browser lays out
with a width, and they equal the numbers in report.json (title, axis labels, numbers
at risk, the hazard-ratio annotation, each subgroup's n and heterogeneity P, the
CONSORT counts); the page can be searched for them; a screenshot of each figure is
written for a person to look at.

usage: report_figures.py LEOPARDS_BINARY SCREENSHOT_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

LP, SHOTS = sys.argv[1], sys.argv[2]
checks = 0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        fail(msg)


def p_phrase(p_text):
    """The report's P phrase: "P = 0.41", "P < 0.001", "P > 0.99"."""
    if p_text[:1] in "<>":
        return "P %s %s" % (p_text[0], p_text[1:])
    return "P = " + p_text


def run(*args):
    subprocess.run([LP, *args], check=True, stdout=subprocess.DEVNULL)


def texts(driver, fig_id, cls=None):
    """(text, x on the page, y baseline in the figure, rendered width) of each <text> of one
    inline figure, in document order."""
    sel = "figure#%s svg text%s" % (fig_id, "." + cls if cls else "")
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(t => "
        "[t.textContent, t.getBoundingClientRect().x, parseFloat(t.getAttribute('y')), t.getComputedTextLength()]);",
        sel)


def text_set(driver, fig_id, cls=None):
    return [t[0] for t in texts(driver, fig_id, cls)]


def rows_by_y(items):
    """Group (text, x, y, w) into rows of equal y, each row ordered by x."""
    rows = {}
    for t, x, y, _ in items:
        rows.setdefault(round(y), []).append((x, t))
    return [[t for _, t in sorted(r)] for _, r in sorted(rows.items())]


def check_km(driver, j, fig_id, row_id, title, ylabel):
    tx = text_set(driver, fig_id)
    check(title in text_set(driver, fig_id, "title"), "%s: title %r not a text node" % (fig_id, title))
    check("Days since randomization" in text_set(driver, fig_id, "xlabel"), fig_id + ": x-axis label")
    check(ylabel in text_set(driver, fig_id, "ylabel"), fig_id + ": y-axis label")
    check("No. at risk" in tx, fig_id + ": 'No. at risk'")
    # Numbers at risk: one row per arm, in the arms' order, equal to report.json.
    got = rows_by_y(texts(driver, fig_id, "risk"))
    want = [[str(v) for v in j["curves"][row_id][arm]["at_risk_days_0_7_14_21_28"]] for arm in j["arms"]]
    check(got == want, "%s: numbers at risk %s, report.json has %s" % (fig_id, got, want))
    r = j["tables"]["figure2"][row_id]
    note = "Adjusted hazard ratio %.2f (95%% CI %.2f to %.2f); P = %s" % (r["estimate"], r["ci"][0], r["ci"][1],
                                                                        r["p_text"])
    check(text_set(driver, fig_id, "annotation") == [note],
          "%s: annotation %s, expected %r" % (fig_id, text_set(driver, fig_id, "annotation"), note))


def check_forest(driver, j, fig_id, outcome):
    subs = [s for s in j["subgroups"].values() if s["outcome"] == outcome]
    check(subs, "report.json has subgroups of %r" % outcome)
    check(text_set(driver, fig_id, "title") == ["%s in prespecified subgroups" % outcome], fig_id + ": title")
    rows = rows_by_y(texts(driver, fig_id))
    by_label = {r[0]: r for r in rows}
    for s in subs:
        want = [s["label"], p_phrase(s["p_text"])]
        check(by_label.get(s["label"]) == want,
              "%s: heading row of %r is %s, expected %s" % (fig_id, s["label"], by_label.get(s["label"]), want))
        for lev in s["levels"]:
            r = by_label.get(lev["level"])
            check(r is not None and r[1] == str(lev["n"]),
                  "%s: level %r row %s lacks its n %d" % (fig_id, lev["level"], r, lev["n"]))
            scale, digits = (100, 1) if s["binary"] else (1, 2)
            est = "%.*f" % (digits, lev["estimate"] * scale)
            est = est[1:] if est.startswith("-") and not est.strip("-0.") else est
            check(r[3].startswith(est + " ("), "%s: level %r shows %r, report.json %s" % (fig_id, lev["level"], r[3], est))
    if any(s["binary"] for s in subs):
        check(any("percentage points" in t for t in text_set(driver, fig_id, "xlabel")), fig_id + ": units")


def check_consort(driver, j):
    c = j["consort"]
    tx = text_set(driver, "figure1")
    check("%d Patients were assessed for eligibility" % c["assessed"] in tx, "figure1: assessed")
    check("%d Were excluded" % c["excluded"] in tx, "figure1: excluded")
    check("%d Underwent randomization" % c["randomised"] in tx, "figure1: randomised")
    for r in c["reasons"]:
        line = "%d %s" % (r["count"], r["reason"].strip())
        check(line in tx, "figure1: exclusion reason %r" % line)
    for a in c["arms"]:
        for line in ("%d Were assigned to receive %s" % (a["assigned"], a["arm"]), "%d Received %s" % (a["received"], a["arm"]),
                     "%d Were included in the primary analysis" % a["analysed"]):
            check(line in tx, "figure1: %r" % line)
    check(sum(t.endswith("Were lost to follow-up") for t in tx) == 2, "figure1: lost-to-follow-up boxes")
    # the reasons for not receiving the drug, each with its count (a long one wraps
    # onto the next text node)
    joined = " ".join(tx)
    for a in c["arms"]:
        why = a.get("not_received", [])
        check(sum(r["count"] for r in why) == a["assigned"] - a["received"], "figure1: %s reasons" % a["arm"])
        check("%d Did not receive %s" % (a["assigned"] - a["received"], a["arm"]) in tx,
              "figure1: %s did not receive" % a["arm"])
        for r in why:
            line = "%d %s" % (r["count"], r["reason"])
            check(line in joined, "figure1: not received %r" % line)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lp-browser-")
    profile = tempfile.mkdtemp(prefix="lp-chromium-")
    driver = None
    try:
        run("simulate", "--db", tmp + "/t.db", "--key", tmp + "/t.key", "--seed", "7", "--quiet")
        run("analyze", "--db", tmp + "/t.db", "--key", tmp + "/t.key", "--out", tmp + "/report", "--boot", "500",
            "--permutations", "200", "--quiet")
        with open(tmp + "/report/report.json", encoding="utf-8") as f:
            j = json.load(f)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
                  "--window-size=1200,2400", "--hide-scrollbars"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        driver.get("file://" + tmp + "/report/report.html")
        # Every id in the document, unique.
        ids = driver.execute_script("return Array.from(document.querySelectorAll('[id]')).map(e => e.id);")
        dup = sorted({i for i in ids if ids.count(i) > 1})
        check(not dup, "ids used more than once: %s" % dup[:10])
        figs = [f.get_attribute("id") for f in driver.find_elements(By.CSS_SELECTOR, "figure")]
        want_figs = ["figure1", "figure2", "figure_weaning", "figure_subgroups", "figure_subgroups_death", "figure_sofa"]
        check(figs == want_figs, "figures %s, expected %s" % (figs, want_figs))
        for fid in figs:
            # Text, not outlines: no glyph symbols or <use>, and every label laid out with a width.
            n_glyph = driver.execute_script(
                "return document.querySelectorAll(arguments[0] + ' svg use, ' + arguments[0] + ' svg symbol').length;",
                "figure#" + fid)
            check(n_glyph == 0, fid + ": glyph outlines (use/symbol)")
            tx = texts(driver, fid)
            check(len(tx) >= 5, fid + ": only %d text nodes" % len(tx))
            empty = [t[0] for t in tx if t[0].strip() and not t[3] > 0]
            check(not empty, fid + ": text without width: %s" % empty[:5])
            el = driver.find_element(By.ID, fid)
            driver.execute_script("arguments[0].scrollIntoView();", el)
            check(el.screenshot(os.path.join(SHOTS, fid + ".png")), fid + ": screenshot")
        check_km(driver, j, "figure2", "f2_death", "Probability of Survival to Day 28", "Probability of survival")
        check_km(driver, j, "figure_weaning", "f2_weaning", "Remaining on Mechanical Ventilation (Ventilated at Baseline)",
                 "Probability of remaining ventilated")
        check_forest(driver, j, "figure_subgroups", "Mean daily total SOFA score")
        check_forest(driver, j, "figure_subgroups_death", "Death at 28 days")
        check_consort(driver, j)
        check("Daily SOFA Score (Five Systems) in the ICU" in text_set(driver, "figure_sofa", "title"), "figure_sofa: title")
        check("Mean SOFA score (95% CI)" in text_set(driver, "figure_sofa", "ylabel"), "figure_sofa: y label")
        # Searchable: the browser's find-in-page reaches text inside the figures.
        for needle in ("No. at risk", "Adjusted hazard ratio", "Heterogeneity", "Underwent randomization"):
            driver.execute_script("window.getSelection().removeAllRanges();")
            check(driver.execute_script("return window.find(arguments[0], true);", needle), "find-in-page: %r" % needle)
            node = driver.execute_script("return window.getSelection().anchorNode.parentElement.closest('svg') !== null;")
            check(node, "find-in-page: %r found outside the figures" % needle)
        driver.save_screenshot(os.path.join(SHOTS, "report_top.png"))
    finally:
        if driver:
            driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)
    print("report_figures: %d checks passed; screenshots in %s" % (checks, SHOTS))


if __name__ == "__main__":
    main()
