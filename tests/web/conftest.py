"""Fixtures for the web app: an app on the test database with the test process deployed,
demo users, and clients that log in (CSRF tokens included)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.names import Directory
from engine.users import DEMO_PASSWORD, demo_uscc, ensure_demo_users

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
TEST_FILES = ("webcase.bpmn", "intake.schema.json", "intake.uischema.json", "handle.schema.json", "visit.schema.json")
ENT1 = demo_uscc("CY0001")  # ent.demo1, county jianping
ENT2 = demo_uscc("CY0002")  # ent.demo2, county shuangta
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_files() -> dict[str, bytes]:
    return {name: (DATA / name).read_bytes() for name in TEST_FILES}


@pytest.fixture
def web_settings(tmp_path):
    from engine.config import Settings

    return Settings(
        upload_dir=tmp_path / "uploads", processes_dir=tmp_path / "no-processes", forms_dir=tmp_path / "no-forms"
    )


@pytest.fixture
def app(Session, engine, deploy, web_settings, tmp_path):
    from webapp import create_app

    deploy(test_files())
    with Session.begin() as session:
        ensure_demo_users(session, Directory())
    app = create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "test-secret",
            "SETTINGS": web_settings,
            "VAR_DIR": str(tmp_path / "var"),
            "UPLOAD_DIR": str(web_settings.upload_dir),
        }
    )
    return app


#: the processes of processes/ that the case process does not need (and whose timers would start)
NOT_CASE_FILES = ("bulletin.bpmn", "weekly_report.bpmn")


def case_process_files() -> dict[str, bytes]:
    """The real case process (processes/case.bpmn), the processes it calls, its rules and forms."""
    from engine.deploy import collect_files

    files = collect_files(ROOT / "processes", ROOT / "forms")
    return {name: data for name, data in files.items() if name not in NOT_CASE_FILES}


@pytest.fixture
def case_process(deploy):
    """Deploys the real case process beside the test process: enterprises submit to it on the
    portal and the API, as in production (engine/cases.py numbers the case ZTC-YYYY-NNNN)."""
    return deploy(case_process_files())


#: a valid submission of the real case process as the portal's form sends it
SUBMISSION = {
    "title": "厂房接电迟迟未办",
    "category": "要素保障",
    "county": "jianping",
    "description": "说明" * 10,
    "help_wanted": "请协调供电公司尽快接电",
    "urgency": "一般",
    "contact": "王经理",
    "mobile": "13900001111",
}


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Browser:
    """A test client that keeps the CSRF token of the last page."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        response = self.client.get(url, **kw)
        text = response.get_data(as_text=True)
        response.close()  # a streamed file download must be closed
        match = _CSRF.search(text)
        if match:
            self.token = match.group(1)
        return response

    def post(self, url, data=None, **kw):
        if self.token is None:
            self.get("/login")
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)

    def login(self, username, password=DEMO_PASSWORD):
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.get("/", follow_redirects=True)  # a fresh CSRF token for the new session
        return self


@pytest.fixture
def as_user(app):
    def make(username: str) -> Browser:
        return Browser(app.test_client()).login(username)

    return make


@pytest.fixture
def start_case(Session, engine):
    """start_case(uscc, county, ..., by) → instance id of a new webcase instance."""
    counter = {"n": 0}

    def _start(
        uscc=ENT1,
        county="jianping",
        category="土地批复",
        title="厂房用地手续办理",
        by="ent.demo1",
        name="朝阳示范新材料有限公司",
    ):
        counter["n"] += 1
        case_no = f"T2026{counter['n']:04d}"
        data = {
            "case_no": case_no,
            "title": title,
            "enterprise_name": name,
            "uscc": uscc,
            "county": county,
            "category": category,
            "urgency": "一般",
            "description": "说明" * 10,
        }
        with Session.begin() as session:
            instance = engine.start(session, "webcase", data, actor=by, business_key=case_no)
            return instance.id

    return _start


INTAKE_OK = {
    "decision": "受理",
    "category": "土地批复",
    "mode": "快速办",
    "lead_unit": "zrzyj",
    "coop_units": ["fgw", "zjj"],
    "deadline": "2026-03-11",
    "amount": "12.5",
    "staff": "30",
    "leader_attention": "true",
    "opinion": "请市自然资源局牵头办理",
    "actions.0.unit": "zrzyj",
    "actions.0.item": "完成用地预审",
    "actions.0.due": "2026-03-09",
}


def ready_task(Session, instance_id, bpmn_id):
    from sqlalchemy import select

    from engine.models import HumanTask

    with Session() as session:
        return (
            session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id, HumanTask.state == "ready"
                )
            )
            .one()
            .id
        )


# -- browser --------------------------------------------------------------------------------
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


class _OnceClosed:
    """A response body whose close() runs once, however often it is called."""

    def __init__(self, body):
        self.body, self.closed = body, False

    def __iter__(self):
        return iter(self.body)

    def close(self):
        if not self.closed and hasattr(self.body, "close"):
            self.body.close()
        self.closed = True


def _serve(app):
    """Serve `app` with werkzeug in a thread; yields its base URL.

    werkzeug's handler closes the response only after draining the socket, and that drain raises
    when the browser has already dropped the connection (a page left while its script loaded):
    the open static file is then left to the garbage collector, whose ResourceWarning fails
    whichever test is running. Each handler here closes its response itself."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    served = threading.local()

    def remembering(environ, start_response):
        served.body = _OnceClosed(app(environ, start_response))
        return served.body

    class ClosingHandler(WSGIRequestHandler):
        def run_wsgi(self):
            try:
                super().run_wsgi()
            finally:
                body, served.body = getattr(served, "body", None), None
                if body is not None:
                    body.close()

    server = make_server("127.0.0.1", 0, remembering, threaded=True, request_handler=ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture
def live_server(app):
    """The app served by werkzeug in a thread; yields its base URL."""
    yield from _serve(app)


class Shots:
    """Screenshots of every page a test visits, kept in test-artifacts/web/<test>/."""

    def __init__(self, name: str, root: Path = ARTIFACTS):
        self.dir = root / re.sub(r"[^\w.-]+", "_", name)
        if self.dir.exists():
            for old in self.dir.glob("*.png"):
                old.unlink()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, page, label: str) -> Path:
        self.n += 1
        safe = re.sub(r"[^\w.-]+", "_", label)
        path = self.dir / f"{self.n:02d}-{safe}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request):
    return Shots(request.node.name)


@pytest.fixture
def login_page(browser, request, Session):
    """login_page(username, phone=False) → a logged-in Playwright page in its own context
    (on ``real_server`` when the test uses it, else on ``live_server``)."""
    contexts = []
    server = request.getfixturevalue("real_server" if "real_server" in request.fixturenames else "live_server")

    def _login(username: str, phone: bool = False):
        options = (
            {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
            if phone
            else {"viewport": {"width": 1366, "height": 900}}
        )
        context = browser.new_context(locale="zh-CN", **options)
        contexts.append(context)
        page = context.new_page()
        errors, console = [], []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda message: console.append(f"{message.type}: {message.text} ({page.url})"))
        page.js_errors = errors
        page.console = console  # every console message, from the log-in page on (CSP violations land here)
        page.base = server
        page.goto(server + "/login")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.click("form.form button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, f"{username} could not log in"
        return page

    yield _login
    for context in contexts:
        context.close()


# -- the real case process (processes/, forms/) ----------------------------------------------


def fill_problem(
    page,
    *,
    title: str,
    description: str,
    help_wanted: str,
    urgency: str = "紧急",
    county: str = "city",
    category: str = "土地批复",
    files=(),
) -> None:
    """Open the enterprise's 反映问题 form of the real case process and fill it in (not sent)."""
    page.click("#new-case")
    page.fill("#f-contact", "王经理")
    page.fill("#f-mobile", "13900001111")
    page.select_option("#f-county", county)
    page.select_option("#f-category", category)
    page.fill("#f-title", title)
    page.fill("#f-description", description)
    page.fill("#f-help_wanted", help_wanted)
    page.select_option("#f-urgency", urgency)
    if files:
        page.set_input_files("#f-attachments", [str(f) for f in files])


@pytest.fixture
def real_app(Session, engine, tmp_path):
    """The app on the project's own processes/ and forms/ (skips nothing: they are in the repo)."""
    from engine.config import Settings
    from engine.deploy import collect_files
    from engine.names import load_directory
    from engine.workdays import WorkCalendar
    from webapp import create_app

    settings = Settings(upload_dir=tmp_path / "uploads", processes_dir=ROOT / "processes", forms_dir=ROOT / "forms")
    engine.calendar = WorkCalendar.from_file(settings.calendar_file)
    directory = load_directory(settings.processes_dir / "directory.json")
    with Session.begin() as session:
        engine.deploy(session, collect_files(settings.processes_dir, settings.forms_dir), "tester")
        ensure_demo_users(session, directory)
    return create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "test-secret",
            "SETTINGS": settings,
            "VAR_DIR": str(tmp_path / "var"),
            "DIRECTORY": directory,
            "UPLOAD_DIR": str(settings.upload_dir),
        }
    )


@pytest.fixture
def real_server(real_app):
    yield from _serve(real_app)
