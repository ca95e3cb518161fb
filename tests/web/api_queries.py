"""The JSON API and the pages of data queries, source data verification and e-signatures,
against the test's own demo server on 127.0.0.1: a record with a soft finding saved through the API
opens a query; the investigator of another site cannot answer it, the monitor cannot
edit clinical data; the site answers, the monitor closes and verifies the form; an edit
without a reason is refused, one with a reason clears the verification and invalidates
the PI's signature (said in the findings, visible in the signature and SDV views); the
lock is refused while a query is open and allowed with a recorded override and the
statistician's password (a signed lock). The pages: the site's open queries on its home
page (escaped), answering and closing on the query page (anti-forgery token required),
the monitor's verify buttons, the PI's sign page, the lock page.

usage: api_queries.py LEOPARDS"""
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures, js  # noqa: E402
from webutil import request  # noqa: E402



def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def login(srv, user, new):
    code, _, body = request(srv.url + "/api/v1/login", "POST", {"user": user, "password": srv.passwords[user]})
    tok = js(body).get("token", "")
    code, _, body = request(srv.url + "/api/v1/password", "POST", {"current": srv.passwords[user], "new": new},
                            headers=bearer(tok))
    check(code == 200, "%s logs in and sets a password" % user)
    return tok


def main():
    srv = webutil.Server(sys.argv[1])
    try:
        u = srv.url + "/api/v1"
        pw = {"inv-ICU01": "walnut-orchid-fifty-3", "inv-ICU02": "glacier-tulip-ninety-8",
              "manager": "saffron-bridge-eleven-5", "statistician": "pebble-comet-thirty-1",
              "monitor": "maple-signal-forty-6"}
        tok = {k: login(srv, k, v) for k, v in pw.items()}
        inv1, inv2, mon, stat = (bearer(tok[k]) for k in ("inv-ICU01", "inv-ICU02", "monitor", "statistician"))
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        patient = db.execute("SELECT p.patient FROM patients p JOIN randomisations r ON r.patient=p.patient"
                             " JOIN sites s ON s.id=r.site_id WHERE s.code='ICU01' AND p.patient NOT IN (SELECT patient FROM queries)"
                             " ORDER BY p.id LIMIT 1").fetchone()[0]
        db.close()

        # a soft finding through the API opens a query, as through the command line
        code, _, body = request(u + "/records/baseline", "POST", {"patient": patient, "map": 30}, headers=inv1)
        check(code == 422 and "needs a reason" in body, "an edit of saved data without a reason: 422 (%s)" % body.strip())
        code, _, body = request(u + "/records/baseline", "POST",
                                {"patient": patient, "map": 30, "reason": "re-read the chart"}, headers=inv1)
        f = js(body).get("findings", [])
        check(code == 201 and any(x["level"] == "warning" and x["field"] == "map" for x in f),
              "a record with a soft finding: 201 with the warning (%s)" % body.strip())
        code, _, body = request(u + "/queries?patient=%s&state=open" % patient, headers=inv1)
        qs = js(body).get("queries", [])
        check(code == 200 and len(qs) == 1 and qs[0]["origin"] == "check" and qs[0]["field"] == "map",
              "the soft check opened a query (%s)" % body.strip())
        qid = qs[0]["id"] if qs else 0
        code, _, body = request(u + "/queries?site=ICU01", headers=inv2)
        check(code == 403, "investigator of another site: no listing of ICU01's queries")
        code, _, body = request(u + "/records/baseline", "POST",
                                {"patient": patient, "map": 70, "reason": "monitor edit"}, headers=mon)
        check(code == 403 and "may not record data" in body, "the monitor cannot edit clinical data: 403")
        code, _, body = request(u + "/queries/%d/answer" % qid, "POST", {"text": "checked"}, headers=inv2)
        check(code == 403 and "another site" in body, "investigator of another site cannot answer: 403")
        code, _, body = request(u + "/queries/%d/close" % qid, "POST", {}, headers=inv1)
        check(code == 403, "the site cannot close its own query: 403")
        code, _, body = request(u + "/queries/%d/answer" % qid, "POST",
                                {"text": "the source says 62", "value": "62", "reason": "transcription error"},
                                headers=inv1)
        a = js(body)
        check(code == 200 and a.get("state") == "answered" and a.get("old_value") == "30" and a.get("new_value") == "62",
              "the site answers by correcting the value (%s)" % body.strip())
        code, _, body = request(u + "/queries/%d/close" % qid, "POST", {"text": "agreed"}, headers=mon)
        check(code == 200 and js(body).get("state") == "closed" and js(body).get("closed_by") == "monitor",
              "the monitor closes the query")
        code, _, body = request(u + "/queries/%d/reopen" % qid, "POST", {"text": "value still odd"}, headers=mon)
        check(code == 200 and js(body).get("state") == "open" and js(body).get("reopened") == 1,
              "the monitor re-opens the query")
        code, _, body = request(u + "/queries/%d/answer" % qid, "POST", {"text": "62 confirmed"}, headers=inv1)
        code, _, body = request(u + "/queries/%d/close" % qid, "POST", {}, headers=mon)
        check(code == 200 and js(body).get("state") == "closed", "answered again and closed")

        # SDV, then the PI signs; an edit clears the one and invalidates the other
        code, _, body = request(u + "/verifications", "POST", {"patient": patient, "form": "baseline"}, headers=inv1)
        check(code == 403, "an investigator cannot verify source data: 403")
        code, _, body = request(u + "/verifications", "POST", {"patient": patient, "form": "baseline"}, headers=mon)
        check(code == 201 and js(body).get("verified_by") == "monitor", "the monitor verifies the baseline form")
        code, _, body = request(u + "/signatures", "POST", {"patient": patient, "password": "wrong one entirely"},
                                headers=inv1)
        check(code == 403 and js(body).get("error", {}).get("field") == "password", "a wrong password: no signature")
        code, _, body = request(u + "/signatures", "POST", {"patient": patient, "password": pw["inv-ICU02"]},
                                headers=inv2)
        check(code == 403, "the PI of another site cannot sign: 403")
        code, _, body = request(u + "/signatures", "POST", {"patient": patient, "password": pw["inv-ICU01"]},
                                headers=inv1)
        g = js(body)
        check(code == 201 and g.get("meaning") == "I confirm these data are complete and accurate" and
              g.get("printed_name") == "Dr Eleanor Hart" and g.get("signer") == "inv-ICU01" and
              g.get("account_name") is False and len(g.get("content_hash", "")) == 64 and g.get("valid") is True,
              "the PI signs the casebook (%s)" % body.strip())
        code, _, body = request(u + "/sdv?patient=%s" % patient, headers=mon)
        s = js(body)
        check(code == 200 and s["patients"][0]["verified"] == 1 and s["patients"][0]["signed"] is True,
              "SDV view: verified and signed (%s)" % body.strip())
        code, _, body = request(u + "/records/baseline", "POST",
                                {"patient": patient, "heart_rate": 96, "reason": "late lab sheet"}, headers=inv1)
        notes = [x["text"] for x in js(body).get("findings", []) if x["level"] == "note"]
        check(code == 201 and any("clears the verification" in n for n in notes) and
              any("invalidates the signature" in n for n in notes), "the edit says what it cleared (%s)" % notes)
        code, _, body = request(u + "/signatures/%s" % patient, headers=mon)
        check(code == 200 and js(body).get("valid") is False and
              "signature invalidated by a change on" in js(body).get("state", ""), "the signature shows as invalidated")
        code, _, body = request(u + "/sdv?patient=%s" % patient, headers=mon)
        s = js(body)
        check(code == 200 and s["patients"][0]["verified"] == 0 and s["forms"][0].get("cleared_by") == "inv-ICU01",
              "SDV view: the verification was cleared by the change")
        code, _, body = request(u + "/sdv", headers=mon)
        check(code == 200 and len(js(body).get("sites", [])) > 1, "SDV progress per site for the monitor")

        # the pages: the site's open queries on its home page, answer, close, verify, sign (CSRF, escaping)
        def page(path, who, form=None):
            h = {"Cookie": "lp_session=" + tok[who]}
            if form is None:
                return request(srv.url + path, headers=h)
            return request(srv.url + path, "POST", headers=h, form=form)

        def csrf(who):
            return js(request(u + "/session", headers=bearer(tok[who]))[2]).get("csrf_token", "")

        code, _, body = request(u + "/queries", "POST", {"patient": patient, "form": "baseline", "field": "sex",
                                                         "text": "<b>sex</b> & source?"}, headers=mon)
        pq = js(body).get("id", 0)
        code, _, body = page("/home", "inv-ICU01")
        check(code == 200 and "Open data queries of your site" in body and "&lt;b&gt;sex&lt;/b&gt; &amp; source?" in body
              and "<b>sex</b>" not in body, "the site's home page lists its open query, escaped")
        code, _, body = page("/queries/%d" % pq, "inv-ICU01")
        check(code == 200 and 'action="/queries/%d/answer"' % pq in body and "/close" not in body,
              "the site's query page offers the answer, not the close")
        code, _, body = page("/queries/%d/answer" % pq, "inv-ICU01", {"text": "checked"})
        check(code == 403, "an answer without the anti-forgery token: 403")
        code, h, body = page("/queries/%d/answer" % pq, "inv-ICU01", {"csrf": csrf("inv-ICU01"), "text": "checked"})
        check(code == 303 and h.get("Location") == "/queries/%d" % pq, "the site answers on the page: 303")
        code, _, body = page("/queries/%d" % pq, "inv-ICU02")
        check(code == 403, "investigator of another site: no query page")
        code, _, body = page("/queries/%d" % pq, "monitor")
        check(code == 200 and "/close" in body and "/reopen" in body and "checked" in body,
              "the monitor's query page: the answer, close and re-open")
        code, _, body = page("/queries/%d/close" % pq, "monitor", {"csrf": csrf("monitor")})
        check(code == 303, "the monitor closes on the page")
        code, _, body = page("/sdv?patient=%s" % patient, "monitor")
        check(code == 200 and body.count(">Verify</button>") >= 2 and "signature invalidated by a change" in body,
              "the forms page: verify buttons, the invalidated signature")
        code, _, body = page("/verify", "monitor", {"csrf": csrf("monitor"), "patient": patient, "form": "baseline",
                                                     "day": "0", "record": "0"})
        check(code == 303, "the monitor verifies on the page")
        code, _, body = page("/sdv?patient=%s" % patient, "monitor")
        check("verified</span> by monitor" in body, "the forms page shows the verification")
        code, _, body = page("/sign?patient=%s" % patient, "inv-ICU01")
        check(code == 200 and "I confirm these data are complete and accurate" in body and 'type="password"' in body,
              "the PI's sign page states the meaning and asks for the password")
        check("By signing, you, Dr Eleanor Hart" in body, "the sign page names the signer by the printed name")
        code, _, body = page("/sign", "inv-ICU01", {"csrf": csrf("inv-ICU01"), "patient": patient, "password": "no"})
        check(code == 403, "signing with a wrong password on the page: 403")
        code, _, body = page("/sign", "inv-ICU01", {"csrf": csrf("inv-ICU01"), "patient": patient,
                                                    "password": pw["inv-ICU01"]})
        check(code == 303, "the PI signs on the page")
        code, _, body = page("/sdv?patient=%s" % patient, "inv-ICU01")
        check("signed</span> by <strong>Dr Eleanor Hart</strong>" in body and "<q>I confirm these data" in body,
              "the forms page shows the signature with the printed name")
        code, _, body = page("/lock", "inv-ICU01")
        check(code == 403, "an investigator has no lock page")

        # the users page marks a new investigator as the site's principal investigator
        code, _, body = page("/users", "manager", {"csrf": csrf("manager"), "name": "pi-ICU03", "role": "investigator",
                                                   "site": "ICU03", "pi": "1", "full_name": "Dr Ada O'Neil"})
        check(code == 303, "the manager registers a PI with a full name on the users page")
        code, _, body = page("/users", "manager")
        check(re.search(r"pi-ICU03</td><td>.*?</td><td>investigator, principal investigator", body) is not None,
              "the users page shows the principal investigator")
        check('value="Dr Ada O&#39;Neil"' in body or 'value="Dr Ada O&#x27;Neil"' in body,
              "the users page shows the full name, escaped")
        check("none: signatures show the account name" in body, "and says which users have no full name")
        # without a full name the account name is printed, and the signature says so
        code, _, body = page("/users/name", "manager", {"csrf": csrf("manager"), "name": "inv-ICU01", "full_name": ""})
        check(code == 303, "the manager clears a full name on the users page (%d)" % code)
        code, _, body = page("/sign?patient=%s" % patient, "inv-ICU01")
        check("No full name is recorded for your account" in body,
              "the sign page says that the account name will be printed")
        code, _, body = request(u + "/signatures", "POST", {"patient": patient, "password": pw["inv-ICU01"]},
                                headers=bearer(tok["inv-ICU01"]))
        g = js(body)
        check(code == 201 and g.get("printed_name") == "inv-ICU01" and g.get("account_name") is True
              and "account name shown: no full name recorded" in g.get("state", ""),
              "a signature without a full name prints the account name and says so (%d %s)" % (code, body.strip()))
        # the manager records the signing PI's full name: the next signature prints it
        code, _, body = page("/users/name", "manager", {"csrf": csrf("manager"), "name": "inv-ICU01",
                                                        "full_name": "Dr Iris Nkemelu"})
        check(code == 303, "the manager records a full name on the users page (%d)" % code)
        code, _, body = page("/users/name", "inv-ICU01", {"csrf": csrf("inv-ICU01"), "name": "inv-ICU01",
                                                          "full_name": "Someone Else"})
        check(code == 403, "an investigator may not change full names (%d)" % code)
        code, _, body = page("/sign?patient=%s" % patient, "inv-ICU01")
        check("By signing, you, Dr Iris Nkemelu" in body and "No full name" not in body,
              "the sign page names the signer by the full name")
        code, _, body = request(u + "/signatures", "POST", {"patient": patient, "password": pw["inv-ICU01"]},
                                headers=bearer(tok["inv-ICU01"]))
        g = js(body)
        check(code == 201 and g.get("printed_name") == "Dr Iris Nkemelu" and g.get("signer") == "inv-ICU01"
              and g.get("account_name") is False and "signed by Dr Iris Nkemelu" in g.get("state", ""),
              "a signature after the full name is recorded prints it (%d %s)" % (code, body.strip()))
        code, _, body = page("/sdv?patient=%s" % patient, "inv-ICU01")
        check("signed</span> by <strong>Dr Iris Nkemelu</strong>" in body, "the forms page shows the printed name")

        # the lock: refused with an open query; an override reason and the password sign it
        code, _, body = request(u + "/queries", "POST", {"patient": patient, "form": "baseline", "field": "age",
                                                         "text": "age against the ID card?"}, headers=mon)
        check(code == 201 and js(body).get("origin") == "manual", "the monitor raises a query by hand")
        code, _, body = page("/lock", "statistician")
        check(code == 200 and re.search(r"\d+ data quer(y|ies) open", body) and 'name="override_reason"' in body,
              "the lock page counts the open query and asks for an override reason")
        code, _, body = page("/lock", "statistician", {"csrf": csrf("statistician"), "password": pw["statistician"]})
        check(code == 409 and "not closed" in body, "the lock page refuses while a query is open")
        code, _, body = request(u + "/lock", "POST", {"password": pw["statistician"]}, headers=stat)
        check(code == 409 and "not closed" in body, "lock refused while a query is open: 409 (%s)" % body.strip())
        code, _, body = request(u + "/lock", "POST", {"override_reason": "interim cut-off"}, headers=stat)
        check(code == 403 and js(body).get("error", {}).get("field") == "password", "the lock needs the password")
        code, _, body = request(u + "/lock", "POST", {"override_reason": "interim cut-off",
                                                      "password": pw["statistician"]}, headers=stat)
        lk = js(body)
        check(code == 200 and lk.get("signed") is True and "lock of this database" in lk["signature"]["meaning"],
              "the lock with an override, signed (%s)" % body.strip())
        code, _, body = request(u + "/audit", headers=mon)
        check("interim cut-off" in body, "the override reason is in the audit trail")
        code, _, body = page("/lock", "statistician")
        check("The database is locked" in body and "I approve the lock of this database" in body,
              "the lock page shows the lock's signature")
    finally:
        log = srv.stop()
        if failures:
            print(log[-3000:])
    print("%d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
