"""Security of leopards serve at the HTTP level, against the test's own demo server on
127.0.0.1: every route refused without a session; a role x route matrix with each
forbidden pair refused (403, audited); state-changing requests without the anti-forgery
token refused; five wrong passwords lock the account, and the lockout is audited;
hostile patient codes refused or shown as text; no session token in clear in the
database, argon2id hashes, and no hash or token in the audit trail or an export;
the security headers; the size limit.

usage: http_security.py LEOPARDS"""
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures  # noqa: E402
from webutil import request  # noqa: E402



PAGES_GET = ["/home", "/status", "/screen", "/randomise?patient=P0001", "/consent?patient=P0001", "/patients/P0001",
             "/unblind?patient=P0001", "/audit", "/users", "/password", "/tokens", "/sites", "/list",
             "/consent?correct=1&patient=P0001"]
PAGES_POST = ["/screen", "/randomise", "/consent", "/unblind", "/users", "/users/deactivate", "/users/name", "/password",
              "/logout",
              "/tokens", "/tokens/revoke", "/sites", "/sites/close", "/list/extend"]
API = [("GET", "/api/v1/session"), ("POST", "/api/v1/logout"), ("POST", "/api/v1/password"),
       ("POST", "/api/v1/screenings"), ("POST", "/api/v1/randomisations"), ("POST", "/api/v1/consents"),
       ("GET", "/api/v1/patients/P0001"),
       ("POST", "/api/v1/unblindings"), ("GET", "/api/v1/status"), ("GET", "/api/v1/audit?patient=P0001"),
       ("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens"), ("POST", "/api/v1/tokens/1/revoke"),
       ("GET", "/api/v1/sites"), ("POST", "/api/v1/sites"), ("POST", "/api/v1/sites/ICU01/close")]


def api_login(srv, user, password):
    code, h, body = request(srv.url + "/api/v1/login", "POST", {"user": user, "password": password})
    return code, h, body


def json_of(body):
    import json
    try:
        return json.loads(body)
    except ValueError:
        return {}


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def first_login(srv, user, new):
    code, _, body = api_login(srv, user, srv.passwords[user])
    check(code == 200, "%s logs in with the one-time password" % user)
    tok = json_of(body).get("token", "")
    check(json_of(body).get("must_change_password") is True, "%s must change the one-time password" % user)
    code, _, body = request(srv.url + "/api/v1/status", headers=bearer(tok))
    check(code == 403 and "one-time" in body, "%s: before the change other requests answer 403 saying so" % user)
    code, _, body = request(srv.url + "/api/v1/password", "POST", {"current": srv.passwords[user], "new": new},
                            headers=bearer(tok))
    check(code == 200, "%s changes the password (%s)" % (user, body.strip()))
    return tok


def main():
    leopards = sys.argv[1]
    srv = webutil.Server(leopards)
    tokens = {}
    try:
        u = srv.url
        # ---- no session ----
        for p in PAGES_GET:
            code, h, _ = request(u + p)
            check(code == 303 and h.get("Location") == "/login", "GET %s without a session: to the login" % p)
        for p in PAGES_POST:
            code, _, _ = request(u + p, "POST", form={"x": "1"})
            check(code == 401, "POST %s without a session: 401" % p)
        for m, p in API:
            code, _, body = request(u + p, m, {} if m == "POST" else None)
            check(code == 401 and '"error"' in body, "%s %s without a session: 401 with an error object" % (m, p))
        code, _, _ = request(u + "/home", headers={"Cookie": "lp_session=" + "ab" * 32})
        check(code == 303, "a made-up session token is refused")

        # ---- headers ----
        code, h, body = request(u + "/login")
        csp = h.get("Content-Security-Policy", "")
        check("frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
              and "default-src 'none'" in csp, "the CSP forbids inline scripts (only the server's own files) and framing")
        check(h.get("Cache-Control") == "no-store", "pages are no-store")
        check("<script" not in body, "no script on the login page")

        # ---- logins, one per role ----
        new = {"inv-ICU01": "walnut-orchid-fifty-3", "inv-ICU02": "glacier-tulip-ninety-8",
               "manager": "saffron-bridge-eleven-5", "statistician": "pebble-comet-thirty-1",
               "monitor": "maple-signal-forty-6"}
        for user in new:
            tokens[user] = first_login(srv, user, new[user])
        inv1, inv2, mgr, stat, mon = (tokens[k] for k in new)

        # investigator 1 screens and randomises at ICU01
        code, _, body = request(u + "/api/v1/screenings", "POST",
                                dict(webutil.ELIGIBLE, site="ICU01", patient="SEC-1"), headers=bearer(inv1))
        check(code == 201 and json_of(body).get("eligible") is True, "investigator screens at own site: 201")
        code, _, body = request(u + "/api/v1/screenings", "POST",
                                dict(webutil.ELIGIBLE, site="ICU01", patient="SEC-2", age="16"), headers=bearer(inv1))
        check(code == 201 and "younger than 18 years" in json_of(body).get("failed_words", []),
              "an ineligible screening names the criterion in words")
        code, _, body = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": "SEC-2"},
                                headers=bearer(inv1))
        check(code == 422, "randomising an ineligible patient: 422")
        code, _, body = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": "SEC-1"},
                                headers=bearer(inv1))
        check(code == 422 and "no consent record" in body, "randomising without a consent record: 422 saying so")
        consent = {"patient": "SEC-1", "consent_by": "patient", "consented_at": "2020-01-01T00:00",
                   "taken_by": "nurse", "form_version": "1"}
        for user in ("inv-ICU02", "monitor", "manager", "statistician"):
            code, _, body = request(u + "/api/v1/consents", "POST", consent, headers=bearer(tokens[user]))
            check(code == 403, "%s may not record consent at ICU01: 403 (%d)" % (user, code))
        code, _, body = request(u + "/api/v1/consents", "POST", consent, headers={"Cookie": "lp_session=" + inv1})
        check(code == 403 and "CSRF" in body, "a cookie-authenticated consent without X-CSRF-Token: 403")
        code, _, body = request(u + "/api/v1/consents", "POST", consent, headers=bearer(inv1))
        check(code == 201, "the investigator records the consent: 201 (%s)" % body.strip())
        code, _, body = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": "SEC-1"},
                                headers=bearer(inv1))
        first = json_of(body)
        check(code == 201 and "pack" in first and "arm" not in first, "randomisation: 201, a pack, no arm")
        code, _, body = request(u + "/api/v1/randomisations", "POST", {"site": "ICU01", "patient": "SEC-1"},
                                headers=bearer(inv1))
        check(code == 200 and json_of(body).get("existing") is True and json_of(body).get("pack") == first.get("pack"),
              "a repeated randomisation: 200 with the first allocation")
        code, _, body = request(u + "/api/v1/screenings", "POST",
                                dict(webutil.ELIGIBLE, site="ICU02", patient="SEC-1"), headers=bearer(inv2))
        check(code == 409, "a patient code already used at another site: 409")

        # ---- the role x route matrix (API) ----
        screening = ("POST", "/api/v1/screenings", dict(webutil.ELIGIBLE, site="ICU01", patient="SEC-M"))
        rand = ("POST", "/api/v1/randomisations", {"site": "ICU01", "patient": "SEC-1"})
        patient = ("GET", "/api/v1/patients/SEC-1", None)
        status_all = ("GET", "/api/v1/status?site=ICU01", None)
        audit_p = ("GET", "/api/v1/audit?patient=SEC-1", None)
        allowed = {  # (role token, route) -> allowed?
            "inv-ICU01": {"screening": True, "rand": True, "patient": True, "status": True, "audit": True},
            "inv-ICU02": {"screening": False, "rand": False, "patient": False, "status": False, "audit": False},
            "manager": {"screening": False, "rand": False, "patient": True, "status": True, "audit": True},
            "statistician": {"screening": False, "rand": False, "patient": False, "status": False, "audit": False},
            "monitor": {"screening": False, "rand": False, "patient": True, "status": True, "audit": True},
        }
        routes = {"screening": screening, "rand": rand, "patient": patient, "status": status_all, "audit": audit_p}
        for user, row in allowed.items():
            for name, (m, p, b) in routes.items():
                if name == "screening" and user == "inv-ICU01":
                    b = dict(b, patient="SEC-M1")
                code, _, body = request(u + p, m, b, headers=bearer(tokens[user]))
                if row[name]:
                    check(code in (200, 201), "%s may %s %s (%d)" % (user, m, p, code))
                else:
                    check(code == 403 and '"error"' in body, "%s is refused %s %s (%d)" % (user, m, p, code))
        # pages for the roles
        page_rules = [("manager", "/screen", 403), ("statistician", "/screen", 403), ("monitor", "/screen", 403),
                      ("inv-ICU01", "/users", 403), ("monitor", "/users", 403), ("manager", "/users", 200),
                      ("inv-ICU02", "/patients/SEC-1", 403), ("inv-ICU02", "/audit?patient=SEC-1", 403),
                      ("inv-ICU02", "/status?site=ICU01", 403), ("inv-ICU01", "/status?site=ICU01", 200),
                      ("statistician", "/status", 403), ("monitor", "/unblind?patient=SEC-1", 403),
                      ("inv-ICU01", "/sites", 403), ("statistician", "/sites", 403), ("monitor", "/sites", 403),
                      ("manager", "/sites", 200), ("manager", "/list", 403), ("inv-ICU01", "/list", 403),
                      ("monitor", "/list", 403), ("statistician", "/list", 200), ("monitor", "/tokens", 200)]
        for user, p, want in page_rules:
            code, _, _ = request(u + p, headers={"Cookie": "lp_session=" + tokens[user]})
            check(code == want, "page %s for %s: %d (got %d)" % (p, user, want, code))
        code, _, body = request(u + "/api/v1/unblindings", "POST",
                                {"patient": "SEC-1", "reason": "x", "password": new["inv-ICU02"]},
                                headers=bearer(inv2))
        check(code == 403, "another site's investigator cannot unblind: 403")
        code, _, body = request(u + "/api/v1/unblindings", "POST",
                                {"patient": "SEC-1", "reason": "x", "password": new["monitor"]}, headers=bearer(mon))
        check(code == 403, "a monitor cannot unblind: 403")
        code, _, body = request(u + "/api/v1/unblindings", "POST",
                                {"patient": "SEC-1", "reason": "<script>alert(1)</script> anaphylaxis",
                                 "password": "wrong-password-here"}, headers=bearer(inv1))
        check(code == 403 and json_of(body).get("error", {}).get("field") == "password",
              "unblinding with a wrong password: 403 naming the password")
        code, _, body = request(u + "/api/v1/unblindings", "POST",
                                {"patient": "SEC-1", "reason": "<script>alert(1)</script> anaphylaxis",
                                 "password": new["inv-ICU01"]}, headers=bearer(inv1))
        check(code == 201 and json_of(body).get("arm") in ("levosimendan", "placebo"),
              "the investigator unblinds their own patient: 201 with the arm")
        code, _, body = request(u + "/home", headers={"Cookie": "lp_session=" + mgr})
        check("&lt;script&gt;alert(1)&lt;/script&gt; anaphylaxis" in body and "<script>alert" not in body,
              "a hostile reason is shown escaped on the manager's home page")
        code, _, body = request(u + "/api/v1/audit", headers=bearer(stat))
        check(code == 403, "the statistician may not read the audit trail")
        code, _, body = request(u + "/api/v1/audit", headers=bearer(inv2))
        entries = json_of(body).get("entries", [])
        check(code == 200 and all(e.get("patient") != "SEC-1" or e.get("user") == "inv-ICU02" for e in entries),
              "another site's investigator sees none of SEC-1's audit entries but their own refused requests")
        check(any(e.get("table") == "refusals" for e in entries), "their refused requests are in their audit view")

        # ---- CSRF ----
        code, _, body = request(u + "/api/v1/screenings", "POST",
                                dict(webutil.ELIGIBLE, site="ICU01", patient="SEC-C1"),
                                headers={"Cookie": "lp_session=" + inv1})
        check(code == 403 and "CSRF" in body, "a cookie-authenticated API POST without X-CSRF-Token: 403")
        code, _, body = request(u + "/api/v1/session", headers={"Cookie": "lp_session=" + inv1})
        csrf = json_of(body).get("csrf_token", "")
        check(len(csrf) == 64 and csrf != inv1, "the session gives a CSRF token distinct from the session token")
        code, _, body = request(u + "/api/v1/screenings", "POST",
                                dict(webutil.ELIGIBLE, site="ICU01", patient="SEC-C2"),
                                headers={"Cookie": "lp_session=" + inv1, "X-CSRF-Token": csrf})
        check(code == 201, "... and with it: 201")
        form = dict(webutil.ELIGIBLE, patient="SEC-C3")
        code, _, body = request(u + "/screen", "POST", form=form, headers={"Cookie": "lp_session=" + inv1})
        check(code == 403 and "anti-forgery" in body, "a form POST without the token: 403")
        code, _, body = request(u + "/screen", "POST", form=dict(form, csrf="0" * 64),
                                headers={"Cookie": "lp_session=" + inv1})
        check(code == 403, "a form POST with a wrong token: 403")
        code, _, body = request(u + "/screen", "POST", form=dict(form, csrf=csrf),
                                headers={"Cookie": "lp_session=" + inv1})
        check(code == 201, "a form POST with the token: 201")

        # ---- hostile patient codes ----
        for bad in ["<script>alert(1)</script>", "'; DROP TABLE users; --", "../../etc/passwd", "x" * 40, ""]:
            code, _, body = request(u + "/api/v1/screenings", "POST",
                                    dict(webutil.ELIGIBLE, site="ICU01", patient=bad), headers=bearer(inv1))
            check(code == 400 and json_of(body).get("error", {}).get("field") == "patient",
                  "patient code %r refused with 400 naming the field" % bad)
            code, _, body = request(u + "/screen", "POST", form=dict(webutil.ELIGIBLE, patient=bad, csrf=csrf),
                                    headers={"Cookie": "lp_session=" + inv1})
            check((code == 400 or (bad == "" and code == 201)) and "<script>alert" not in body,
                  "patient code %r on the form refused or shown as text (%d)" % (bad, code))
        code, _, body = request(u + "/patients/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                                headers={"Cookie": "lp_session=" + inv1})
        check(code == 400 and "<script>alert" not in body, "a hostile code in the URL is refused")
        code, _, body = request(u + "/api/v1/screenings", "POST", b'{"site":"ICU01","site":"ICU02"}',
                                headers=bearer(inv1))
        check(code == 400, "a body with a duplicate key is refused")
        code, _, body = request(u + "/api/v1/screenings", "POST", b"x" * (70 * 1024), headers=bearer(inv1))
        check(code == 413, "a body over the limit: 413")

        # ---- lockout ----
        for i in range(5):
            code, _, body = api_login(srv, "monitor", "not-the-password-%d" % i)
        check(code == 429, "the fifth wrong password locks the account: 429")
        code, _, body = api_login(srv, "monitor", new["monitor"])
        check(code == 429, "while locked even the right password is refused: 429")
        code, _, body = request(u + "/api/v1/audit", headers=bearer(mgr))
        entries = json_of(body).get("entries", [])
        check(any(e.get("table") == "accounts" and "account locked after 5 failed logins" in (e.get("reason") or "")
                  for e in entries), "the lockout is in the audit trail")
        check(sum(1 for e in entries if (e.get("reason") or "").startswith("failed login")) >= 6,
              "every failed login is in the audit trail")

        # ---- logout ----
        code, _, _ = request(u + "/api/v1/logout", "POST", {}, headers=bearer(stat))
        check(code == 200, "logout: 200")
        code, _, _ = request(u + "/api/v1/session", headers=bearer(stat))
        check(code == 401, "the ended session no longer works")
    finally:
        log = srv.stop()
    check("stopped, the store closed cleanly" in log, "SIGTERM stops the server cleanly")

    # ---- the store at rest ----
    raw = b""
    for suffix in ("", "-wal"):
        if os.path.exists(srv.db + suffix):
            raw += open(srv.db + suffix, "rb").read()
    for user, tok in tokens.items():
        check(tok.encode() not in raw and bytes.fromhex(tok) not in raw,
              "the database holds %s's session token neither as text nor as bytes" % user)
    db = sqlite3.connect(srv.db)
    hashes = [r[0] for r in db.execute("SELECT hash FROM credentials")]
    check(len(hashes) == 5 and all(h.startswith("$argon2id$") for h in hashes), "every password hash is argon2id")
    audit_text = " ".join(" ".join(str(c) for c in r if c is not None) for r in db.execute("SELECT * FROM audit"))
    check("$argon2" not in audit_text, "no password hash in the audit trail")
    check(all(tok not in audit_text for tok in tokens.values()), "no session token in the audit trail")
    secret_hex = [r[0].hex() for r in db.execute("SELECT token_hash FROM session_secrets")]
    check(all(h not in audit_text for h in secret_hex), "no token hash in the audit trail")
    db.close()
    out = tempfile.mkdtemp(prefix="leopards-export-")
    exp = os.path.join(out, "export")
    rc = subprocess.run([leopards, "export", "--db", srv.db, "--out", exp], capture_output=True, text=True)
    check(rc.returncode == 0, "the trial exports (%s)" % rc.stderr.strip())
    files = os.listdir(exp) if os.path.isdir(exp) else []
    check("credentials.csv" not in files and "session_secrets.csv" not in files and "accounts.csv" in files,
          "the export has the accounts but neither the hashes nor the token table")
    blob = "".join(open(os.path.join(exp, f), encoding="utf-8", errors="replace").read() for f in files)
    check("$argon2" not in blob and all(t not in blob for t in tokens.values()) and
          all(h not in blob for h in secret_hex), "no hash or token anywhere in the export")
    rc = subprocess.run([leopards, "audit", "verify", "--db", srv.db], capture_output=True, text=True)
    check(rc.returncode == 0 and "intact" in rc.stdout, "the audit trail verifies after all this")
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all HTTP security checks passed")


if __name__ == "__main__":
    main()
