"""Shared by the web tests: start `leopards serve --demo` on 127.0.0.1 with a free port
(the test's own server, stopped at the end), read the printed address and one-time
passwords, and plain HTTP requests that do not follow redirects."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


class Server:
    def __init__(self, leopards, workdir=None, extra=()):
        self.dir = workdir or tempfile.mkdtemp(prefix="leopards-web-")
        self.demo = os.path.join(self.dir, "demo")
        self.out = open(os.path.join(self.dir, "serve.log"), "w+")
        self.proc = subprocess.Popen(
            [leopards, "serve", "--demo", "--dir", self.demo, "--listen", "127.0.0.1:0", "--workers", "3"] + list(extra),
            stdout=self.out, stderr=subprocess.STDOUT)
        self.passwords = {}
        deadline = time.time() + 120
        text = ""
        while time.time() < deadline:
            self.out.seek(0)
            text = self.out.read()
            if "Stop with Ctrl-C" in text:
                break
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + text)
            time.sleep(0.2)
        m = re.search(r"listening on (https?://127\.0\.0\.1:\d+)/", text)
        if not m:
            raise RuntimeError("no address printed:\n" + text)
        self.url = m.group(1)
        for name, pw in re.findall(r"^  (\S+)\s+([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})\s", text, re.M):
            self.passwords[name] = pw
        self.db = os.path.join(self.demo, "trial.db")
        self.key = os.path.join(self.demo, "trial.key")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.seek(0)
        return self.out.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(NoRedirect)


def request(url, method="GET", body=None, headers=None, form=None, context=None):
    """(status, headers, body text) without following redirects (over HTTPS with the
    ssl `context` given)."""
    h = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    opener = _opener if context is None else urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


import urllib.parse  # noqa: E402  (used by request)

ELIGIBLE = {
    "age": "61", "infection": "1", "temperature": "38.6", "heart_rate": "112", "resp_rate": "26",
    "paco2_kpa": "4.1", "mech_vent": "1", "wbc": "15.2", "vasopressor_hours": "6",
    "hours_since_criteria": "10", "esrf_dialysis": "0", "torsades_history": "0", "child_pugh_c": "0",
    "ventricular_obstruction": "0", "treatment_limitation": "0", "weight_kg": "82", "pregnant": "0",
    "levosimendan_30d": "0", "levosimendan_hypersensitivity": "0", "other_trial": "0",
}


def gone(old):
    """A wait condition: the element `old` has left the document (the page was
    replaced). Chromium reports a replaced node either as stale or, while the new
    document loads, as a node that "does not belong to the document"; both mean gone."""
    def check(_driver):
        try:
            old.is_enabled()
            return False
        except Exception as e:  # selenium's StaleElementReferenceException or WebDriverException
            return type(e).__name__ in ("StaleElementReferenceException", "WebDriverException", "NoSuchElementException")
    return check


# The checks of a test: each prints "ok" or "FAIL" and its words; the test exits
# non-zero when `failures` is not empty at the end.
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def js(body):
    try:
        return json.loads(body)
    except ValueError:
        return {}


def login(srv, user, new):
    """Log `user` in through the API with the one-time password the demo printed, set
    their own password `new`, and return the bearer token."""
    code, _, body = request(srv.url + "/api/v1/login", "POST", {"user": user, "password": srv.passwords[user]})
    tok = js(body).get("token", "")
    request(srv.url + "/api/v1/password", "POST", {"current": srv.passwords[user], "new": new},
            headers={"Authorization": "Bearer " + tok})
    return tok
