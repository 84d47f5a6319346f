"""What every conformance check shares: the run's settings, a tally, plain HTTP for setting up.

Standard library only: each client library's checks run in that library's own virtualenv
(scripts/conformance.sh), and this module is imported by all of them. Setting up (creating the
users a check needs, reading the mail folder) goes around the client under test on purpose: a
check fails only for what the client itself does.
"""

import json
import os
import re
import sys
import time
import traceback
import urllib.error
import urllib.request

BASE = os.environ["CONFORMANCE_BASE"].rstrip("/")
TENANT = os.environ.get("CONFORMANCE_TENANT", "local")
ADMIN = os.environ.get("CONFORMANCE_ADMIN", "admin")
ADMIN_PASSWORD = os.environ["CONFORMANCE_ADMIN_PASSWORD"]
MAIL_FOLDER = os.environ["CONFORMANCE_MAIL_FOLDER"]
# Distinguishes this run's users from an earlier run's in a shared table (kept short: a SpaceONE
# user_id has at most 40 characters).
RUN = os.environ.get("CONFORMANCE_RUN", str(int(time.time()) % 100000))
# A password every policy accepts, and a second one.
PASSWORD = "Conf-Passw0rd-1a"
PASSWORD2 = "Conf-Passw0rd-2b"

# No proxy: every request is for 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CheckFailed(Exception):
    """A check's expectation that the answer did not meet."""


def expect(condition, reason):
    if not condition:
        raise CheckFailed(reason)


def excerpt(value, limit=300):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Suite:
    """One client library's checks: one line each (PASS / FAIL name: reason), then a tally."""

    def __init__(self, library):
        self.library = library
        self.passed = 0
        self.run = 0

    def check(self, name, fn, *args, **kwargs):
        """Runs fn; an exception is the check's failure. Returns fn's value, or None."""
        self.run += 1
        try:
            value = fn(*args, **kwargs)
        except CheckFailed as e:
            print(f"FAIL {self.library} {name}: {e}", flush=True)
            return None
        except Exception as e:  # the client library's own exception, or a bug of this suite
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(
                f"FAIL {self.library} {name}: {type(e).__module__}.{type(e).__name__}: "
                f"{excerpt(str(e))} (at {os.path.basename(where.filename)}:{where.lineno})",
                flush=True,
            )
            return None
        self.passed += 1
        print(f"PASS {self.library} {name}", flush=True)
        return value

    def finish(self):
        print(f"{self.library}: {self.passed}/{self.run} passed", flush=True)
        sys.exit(0 if self.passed == self.run else 1)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return f"{self.status} {excerpt(self.raw.decode('utf-8', 'replace') if isinstance(self.raw, bytes) else self.raw)}"


def http(method, path, body=None, token=None, headers=None):
    """A plain request: returns an Answer whatever its status."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers, e.read())


def login(name, password, tenant=TENANT):
    """A token for a user (the tenant's domain scope), by plain HTTP."""
    answer = http("POST", "/v3/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": name, "password": password, "domain": {"name": tenant}}}},
        "scope": {"domain": {"name": tenant}}}})
    token = answer.header("X-Subject-Token")
    if answer.status != 201 or not token:
        raise CheckFailed(f"setup: login of {name} answered {answer!r}")
    return token


_admin_token = None


def admin_token():
    global _admin_token
    if _admin_token is None:
        _admin_token = login(ADMIN, ADMIN_PASSWORD)
    return _admin_token


def create_user(user_id, password=PASSWORD, **fields):
    """Creates a LOCAL user through SpaceONE create (plain HTTP); returns its UserInfo as JSON."""
    body = {"user_id": user_id, "name": fields.pop("name", "Conformance User"), "backend": "LOCAL",
            "domain_id": TENANT, **fields}
    if password:
        body["password"] = password
    answer = http("POST", "/identity/v1/user/create", body, admin_token())
    if answer.status != 200:
        raise CheckFailed(f"setup: creating {user_id} answered {answer!r}")
    return answer.json


def user_id(label):
    """A user id of this run, unique across the suites: an email address (a LOCAL SpaceONE user's
    user_id is one, and it is the login name) of at most 40 characters."""
    uid = f"{label}-{RUN}@conf.example"
    assert len(uid) <= 40, uid
    return uid


def mail_for(address, since, timeout=15.0):
    """The newest message to `address` that the notifier wrote into the mail folder after
    `since` (a time.time()), waiting for the stream to deliver it."""
    deadline = time.time() + timeout
    while True:
        newest = None
        if os.path.isdir(MAIL_FOLDER):
            for entry in os.scandir(MAIL_FOLDER):
                if not entry.is_file() or entry.stat().st_mtime < since - 1:
                    continue
                try:
                    with open(entry.path, encoding="utf-8") as f:
                        message = json.load(f)
                except (OSError, ValueError):
                    continue
                to = message.get("to")
                recipients = to if isinstance(to, list) else [to]
                if address.casefold() in (str(r).casefold() for r in recipients):
                    if newest is None or entry.stat().st_mtime >= newest[0]:
                        newest = (entry.stat().st_mtime, message)
        if newest is not None:
            return newest[1]
        if time.time() > deadline:
            raise CheckFailed(f"setup: no message to {address} in {MAIL_FOLDER} within {timeout:.0f} s")
        time.sleep(0.2)


def code_in(message, digits=6):
    found = re.search(r"\b(\d{%d})\b" % digits, message.get("text", ""))
    if not found:
        raise CheckFailed(f"setup: no {digits}-digit code in the message {excerpt(message.get('subject', ''))}")
    return found.group(1)
