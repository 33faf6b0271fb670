"""App-wide security: response headers, secure cookies, log-in throttling and the log-in audit.

- Every response carries a Content-Security-Policy without inline script
  (``script-src 'self'``, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy`` and ``X-Frame-Options``; API responses are ``no-store``.
- Cookies are HttpOnly and SameSite=Lax (create_app); they are Secure when
  ``ZHITONGCHE_SECURE_COOKIES`` is 1, never when 0, and when the request came over HTTPS
  otherwise ("auto", the default).
- The log-in form (``public.login``) is throttled by rows in the database
  (engine/logins.py), so every web process sees the same counts: a name locked (per name
  and address, or per account) gets 429 with Retry-After before its password is checked;
  from a busy address (too many failures over all names) only a failure gets 429, the
  right password of an account that is not locked logs in. The attempt, its row and its
  audit entry are made by ``views_auth.attempt_log_in``; this module keeps the throttle's
  settings and the 429 page (``throttled_response``).
- ``ZHITONGCHE_TRUSTED_PROXIES`` (a number, default 0): how many reverse proxies stand in
  front of the app; werkzeug's ProxyFix then takes the client address and scheme from that
  many X-Forwarded-For / X-Forwarded-Proto entries. With 0 these headers are ignored.
"""

from __future__ import annotations

import os

from flask import Flask, current_app, g, has_request_context, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import logins

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _secure_cookies_setting(app: Flask) -> str:
    value = str(app.config.get("SECURE_COOKIES", os.environ.get("ZHITONGCHE_SECURE_COOKIES", "auto"))).lower()
    if value in ("1", "true", "yes", "on"):
        return "always"
    if value in ("0", "false", "no", "off"):
        return "never"
    return "auto"


def client_ip() -> str:
    """The client's address (ProxyFix has put the forwarded one there when proxies are trusted)."""
    return (request.remote_addr or "unknown")[:64]


def init_app(app: Flask) -> None:
    mode = _secure_cookies_setting(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["SESSION_COOKIE_SECURE"] = mode == "always"
    app.config.setdefault("LOGIN_THROTTLE", logins.Throttle())
    proxies = int(app.config.get("TRUSTED_PROXIES", app.config["SETTINGS"].trusted_proxies))
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    if mode == "auto":
        app.session_interface = _auto_secure(app.session_interface)

    @app.before_request
    def _refuse_nul_characters():
        # PostgreSQL refuses NUL in text and JSONB: a 400 here instead of a 500 there
        # (API bodies are JSON; their form parsing waits for the API's own size limits)
        api = request.path.startswith("/api/")
        if (
            _has_nul(request.args)
            or (request.method in ("POST", "PUT", "PATCH") and not api and _has_nul(request.form))
            or (request.is_json and _has_nul(request.get_json(silent=True)))
        ):
            raise BadRequest("NUL characters are not allowed in requests")

    @app.after_request
    def _after(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if mode == "auto" and request.is_secure:
            cookies = response.headers.getlist("Set-Cookie")
            if cookies:
                response.headers.remove("Set-Cookie")
                for cookie in cookies:
                    response.headers.add("Set-Cookie", cookie if "; secure" in cookie.lower() else cookie + "; Secure")
        return response


def throttled_response(username: str, wait: int):
    """The log-in page answering 429: too many failures, try again in ``wait`` seconds."""
    minutes = max(1, (wait + 59) // 60)
    message = gettext("登录失败次数过多，请%(n)d分钟后再试。", n=minutes)
    response = current_app.make_response((render_template("login.html", error=message, username=username), 429))
    response.headers["Retry-After"] = str(wait)
    return response


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if hasattr(value, "lists"):  # a MultiDict
        return any(_has_nul(k) or any(_has_nul(v) for v in vs) for k, vs in value.lists())
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _auto_secure(interface):
    """The session cookie is saved after every after_request function: mark it Secure here."""

    class AutoSecureSessionInterface(type(interface)):
        def get_cookie_secure(self, app) -> bool:
            return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    return AutoSecureSessionInterface()


# -- access: one helper for pages and API (the rules are engine/access.py's) ----------------
def require(rule, what: str) -> None:
    """Refuse the request unless ``rule(g.principal)`` (an engine.access rule): ``NotAllowed``,
    which a page answers with its 403 page and the API with its 403 error shape."""
    from engine import access

    access.check(rule(g.get("principal")), what)


def requires(rule, what: str):
    """View decorator of ``require``: ``@requires(access.is_admin, "only admins may …")``."""
    import functools

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            require(rule, what)
            return view(*args, **kwargs)

        return wrapped

    return decorator
