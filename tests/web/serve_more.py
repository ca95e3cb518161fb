"""leopards serve, the parts added after the first version, against the test's own demo
servers on 127.0.0.1:
- the login form's anti-forgery token (before any session): a login posted without it,
  or with one that does not belong to the browser's cookie, is refused unchecked;
- personal API tokens: created (shown once), used as Authorization: Bearer, refused as a
  cookie and for making more tokens, stored only as a hash, revoked, audited, in no export;
- sites during the trial: the manager adds one and closes one to recruitment (screening
  and randomisation there then 422 saying so); others may not (403);
- the statistician's list page and its extension with the server's key, which gives the
  new site its list;
- audit checkpoints appended to --checkpoint-file while serving, which `audit verify`
  accepts, the last one written at shutdown;
- TLS: a self-signed certificate made here with openssl; HTTPS works, the cookies are
  Secure, plain HTTP on that port gets no page.

usage: serve_more.py LEOPARDS"""
import os
import re
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webutil  # noqa: E402
from webutil import check, failures, js  # noqa: E402
from webutil import request  # noqa: E402



def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def first_login(srv, user, new, context=None):
    code, h, body = request(srv.url + "/api/v1/login", "POST", {"user": user, "password": srv.passwords[user]},
                            context=context)
    tok = js(body).get("token", "")
    code2, _, body2 = request(srv.url + "/api/v1/password", "POST", {"current": srv.passwords[user], "new": new},
                              headers=bearer(tok), context=context)
    check(code == 200 and code2 == 200, "%s logs in and chooses a password (%s)" % (user, body2.strip()))
    return tok, h


def cookie_of(h, name):
    for v in h.get_all("Set-Cookie") or []:
        if v.startswith(name + "="):
            return v
    return ""


def login_csrf(srv):
    leopards = srv
    u = srv.url
    code, h, body = request(u + "/login")
    c = cookie_of(h, "lp_login")
    check(code == 200 and "HttpOnly" in c and "SameSite=Strict" in c, "GET /login sets the lp_login cookie: " + c)
    val = c.split(";")[0].split("=", 1)[1] if c else ""
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', body)
    check(m is not None and m.group(1) != val, "the login form carries a token that is not the cookie itself")
    field = m.group(1) if m else ""
    form = {"user": "monitor", "password": srv.passwords["monitor"]}
    code, h, body = request(u + "/login", "POST", form=form, headers={"Cookie": "lp_login=" + val})
    check(code == 403 and not cookie_of(h, "lp_session"), "a login without the form's token is refused (403)")
    code, h, body = request(u + "/login", "POST", form=dict(form, csrf=field))
    check(code == 403 and not cookie_of(h, "lp_session"), "a login with the token but without its cookie is refused")
    other = "0" * 64
    code, h, body = request(u + "/login", "POST", form=dict(form, csrf=field), headers={"Cookie": "lp_login=" + other})
    check(code == 403 and not cookie_of(h, "lp_session"), "a token made for another cookie is refused")
    db = sqlite3.connect(srv.db)
    fails = db.execute("SELECT coalesce(max(failed_logins), 0) FROM accounts a JOIN users u ON u.id=a.user_id"
                       " WHERE u.name='monitor'").fetchone()[0]
    check(fails == 0, "a forged login checks no password (no failure counted)")
    code, h, body = request(u + "/login", "POST", form=dict(form, csrf=field), headers={"Cookie": "lp_login=" + val})
    check(code == 303 and cookie_of(h, "lp_session"), "with the cookie and its token the login goes on (%d)" % code)


def api_tokens(srv, inv_session, mgr_session):
    u = srv.url
    code, _, body = request(u + "/api/v1/tokens", "POST", {"label": "ward export", "days": 30},
                            headers=bearer(inv_session))
    tok = js(body).get("token", "")
    check(code == 201 and re.fullmatch(r"lpt_[0-9a-f]{64}", tok) is not None, "an API token is made: " + body.strip())
    code, _, body = request(u + "/api/v1/session", headers=bearer(tok))
    check(code == 200 and js(body).get("user") == "inv-ICU01" and js(body).get("site") == "ICU01",
          "the API token acts as its user, with role and site")
    code, _, body = request(u + "/api/v1/status?site=ICU02", headers=bearer(tok))
    check(code == 403, "the API token keeps the site rule (another site: 403)")
    code, _, body = request(u + "/api/v1/tokens", "POST", {"label": "more"}, headers=bearer(tok))
    check(code == 403, "an API token cannot make more tokens")
    code, _, body = request(u + "/api/v1/password", "POST", {"current": "x", "new": "y"}, headers=bearer(tok))
    check(code == 403, "an API token cannot change the password")
    code, h, body = request(u + "/home", headers={"Cookie": "lp_session=" + tok})
    check(code == 303, "an API token is no session cookie")
    code, _, body = request(u + "/api/v1/session", headers=bearer(tok[4:]))
    check(code == 401, "nor is its hex part a session token")
    code, _, body = request(u + "/api/v1/tokens", headers=bearer(inv_session))
    lst = js(body).get("tokens", [])
    check(code == 200 and len(lst) == 1 and lst[0]["label"] == "ward export" and tok[4:] not in body,
          "the list names the token without it")
    tid = lst[0]["id"] if lst else 0
    code, _, body = request(u + "/api/v1/tokens/%d/revoke" % tid, "POST", {}, headers=bearer(mgr_session))
    check(code == 200, "a trial manager may revoke anyone's token")
    code, _, body = request(u + "/api/v1/session", headers=bearer(tok))
    check(code == 401, "a revoked token no longer works")
    code, _, body = request(u + "/api/v1/tokens/%d/revoke" % tid, "POST", {}, headers=bearer(inv_session))
    check(code == 409, "revoking it again: 409")
    db = sqlite3.connect(srv.db)
    hexes = [r[0].hex() for r in db.execute("SELECT token_hash FROM session_secrets")]
    check(tok[4:] not in hexes and all(tok[4:] not in (r[0] or "") for r in db.execute("SELECT label FROM sessions")),
          "the database holds no token in clear")
    trail = "\n".join((r[0] or "") + (r[1] or "") for r in db.execute("SELECT old, new FROM audit"))
    check(tok[4:] not in trail, "nor does the audit trail")
    reasons = [r[0] for r in db.execute("SELECT reason FROM audit WHERE tbl='sessions' AND reason LIKE 'API token%'")]
    check(reasons == ["API token created", "API token revoked"], "creation and revocation are audited: %s" % reasons)
    return tok


def sites(srv, inv, mgr, stat):
    u = srv.url
    code, _, body = request(u + "/api/v1/sites", "POST", {"code": "ICU35", "name": "New unit"}, headers=bearer(inv))
    check(code == 403, "an investigator may not add a site")
    code, _, body = request(u + "/api/v1/sites", "POST", {"code": "ICU35", "name": "New unit"}, headers=bearer(mgr))
    check(code == 201, "the manager adds site ICU35: " + body.strip())
    code, _, body = request(u + "/api/v1/sites", "POST", {"code": "ICU35"}, headers=bearer(mgr))
    check(code == 409, "a site code used already: 409")
    code, _, body = request(u + "/sites", headers=bearer(mgr))
    check(code == 200 and "ICU35" in body and "New unit" in body, "the sites page lists the new site")
    code, _, body = request(u + "/sites", headers=bearer(stat))
    check(code == 403, "the statistician does not manage sites")
    # the list page: the new site has no slot; the extension with the server's key gives it some
    code, _, body = request(u + "/list", headers=bearer(stat))
    check(code == 200 and "ICU35" in body and "Extend the list" in body, "the statistician's list page")
    check(">A<" not in body and "arm" not in body.lower().replace("arms stay sealed", ""), "the list page shows no arm")
    code, _, body = request(u + "/list", headers=bearer(mgr))
    check(code == 403, "a manager does not see the list page")
    _, _, sess = request(u + "/api/v1/session", headers=bearer(stat))
    csrf = js(sess).get("csrf_token", "")
    code, _, body = request(u + "/list/extend", "POST", form={"csrf": csrf}, headers=bearer(stat))
    check(code == 200 and "the list was extended" in body, "the statistician extends the list")
    db = sqlite3.connect(srv.db)
    n = db.execute("SELECT count(*) FROM slots JOIN sites ON sites.id=slots.site_id WHERE code='ICU35'").fetchone()[0]
    check(n > 0, "the new site has its list (%d slots)" % n)
    # close ICU01: its investigator can no longer screen or randomise there (422)
    code, _, body = request(u + "/api/v1/sites/ICU01/close", "POST", {"reason": "pharmacy"}, headers=bearer(inv))
    check(code == 403, "an investigator may not close a site")
    code, _, body = request(u + "/api/v1/sites/ICU01/close", "POST", {}, headers=bearer(mgr))
    check(code == 400 and js(body).get("error", {}).get("field") == "reason", "closing needs a reason")
    code, _, body = request(u + "/api/v1/sites/ICU01/close", "POST", {"reason": "pharmacy closed"},
                            headers=bearer(mgr))
    check(code == 200, "the manager closes ICU01 to recruitment")
    code, _, body = request(u + "/api/v1/screenings", "POST", dict(webutil.ELIGIBLE, site="ICU01", patient="CLOSED1"),
                            headers=bearer(inv))
    check(code == 422 and "closed to recruitment" in body and "pharmacy closed" in body,
          "screening at a closed site: 422 saying so: " + body.strip())
    _, _, csess = request(u + "/api/v1/session", headers=bearer(inv))
    code, _, body = request(u + "/screen", "POST",
                            form=dict(webutil.ELIGIBLE, patient="CLOSED2", csrf=js(csess).get("csrf_token", "")),
                            headers=bearer(inv))
    check(code == 422 and "closed to recruitment" in body, "the screening page says the site is closed (%d)" % code)
    code, _, body = request(u + "/api/v1/sites", headers=bearer(mgr))
    icu01 = [s for s in js(body).get("sites", []) if s["code"] == "ICU01"]
    check(icu01 and icu01[0]["open"] is False and icu01[0]["closed_reason"] == "pharmacy closed", "listed as closed")


def checkpoints(srv, leopards, cp):
    time.sleep(2.5)  # --checkpoint-every 1
    lines = open(cp).read().split("\n") if os.path.exists(cp) else []
    lines = [x for x in lines if x]
    check(len(lines) >= 1, "checkpoints were appended while serving (%d)" % len(lines))
    entries = [int(x.split()[0]) for x in lines]
    check(entries == sorted(set(entries)), "each checkpoint is of new entries: %s" % entries)
    log = srv.stop()
    check("stopped, the store closed cleanly" in log, "the server stops cleanly")
    lines = [x for x in open(cp).read().split("\n") if x]
    last = int(lines[-1].split()[0])
    head = sqlite3.connect(srv.db).execute("SELECT max(id) FROM audit").fetchone()[0]
    check(last == head, "the last checkpoint, at shutdown, is the trail's head (%d = %d)" % (last, head))
    r = subprocess.run([leopards, "audit", "verify", "--db", srv.db, "--checkpoint", cp], capture_output=True,
                       text=True)
    check(r.returncode == 0 and "intact" in r.stdout, "audit verify accepts the checkpoints: " + r.stdout.strip()[-200:])
    r = subprocess.run([leopards, "export", "--db", srv.db, "--out", os.path.join(srv.dir, "export")],
                       capture_output=True, text=True)
    return r.returncode == 0


def tls(leopards, work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "a self-signed certificate is made with openssl")
    os.chmod(key, 0o600)
    os.makedirs(os.path.join(work, "tls"), exist_ok=True)
    srv = webutil.Server(leopards, os.path.join(work, "tls"), ["--tls-cert", cert, "--tls-key", key])
    try:
        check(srv.url.startswith("https://"), "the server says https: " + srv.url)
        ctx = ssl.create_default_context(cafile=cert)
        code, h, body = request(srv.url + "/login", context=ctx)
        check(code == 200 and "Log in" in body, "HTTPS works with the certificate")
        check("; Secure" in cookie_of(h, "lp_login"), "the login cookie is Secure")
        _, h = first_login(srv, "monitor", "maple-signal-forty-6", context=ctx)
        c = cookie_of(h, "lp_session")
        check("; Secure" in c and "HttpOnly" in c, "the session cookie is Secure under TLS: " + c.split(";", 1)[-1])
        plain = srv.url.replace("https://", "http://")
        try:
            code, _, body = request(plain + "/login")
            ok = code != 200 or "Log in" not in body
        except Exception:  # the TLS server does not speak plain HTTP
            ok = True
        check(ok, "plain HTTP on the TLS port gets no page")
        try:
            urllib.request.urlopen(srv.url + "/login", timeout=10)
            check(False, "an unknown certificate is refused by a client that checks")
        except Exception:
            check(True, "an unknown certificate is refused by a client that checks")
    finally:
        srv.stop()


def main():
    leopards = sys.argv[1]
    cp = os.path.abspath("serve_more_checkpoints_%d" % os.getpid())
    srv = webutil.Server(leopards, extra=["--checkpoint-every", "1", "--checkpoint-file", cp])
    try:
        login_csrf(srv)
        inv, _ = first_login(srv, "inv-ICU01", "walnut-orchid-fifty-3")
        mgr, _ = first_login(srv, "manager", "saffron-bridge-eleven-5")
        stat, _ = first_login(srv, "statistician", "pebble-comet-thirty-1")
        tok = api_tokens(srv, inv, mgr)
        sites(srv, inv, mgr, stat)
        exported = checkpoints(srv, leopards, cp)
        check(exported, "the trial exports")
        out = os.path.join(srv.dir, "export")
        blob = ""
        for root, _, files in os.walk(out):
            for f in files:
                blob += open(os.path.join(root, f), errors="replace").read()
        check(tok[4:] not in blob and "session_secrets" not in os.listdir(out), "the export holds no token")
    finally:
        srv.stop()
        if os.path.exists(cp):
            os.unlink(cp)
    tls(leopards, srv.dir)
    if failures:
        print("%d FAILED:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
