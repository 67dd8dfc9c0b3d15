"""The network workspace (issue #18) over HTTP, on SQLite and PostgreSQL: sign-in and out, lock-out,
CSRF, the roles of the API's tokens, and the governance loop's first actions through the pages."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from service.api import create_app
from service.application.spreadsheets import template
from service.spreadsheet import read_workbook
from service.store import Store
from service.store import accounts as account_store
from service.workspace.app import LOCK_FOR, MAX_FAILURES
from service.workspace.sessions import COOKIE

from .stores import TEST_SECURITY
from .workspaces import PASSWORD, TOPIC, cli, csrf, register_entries, rp5_sleep_review, sign_in, warranted_form


def test_sign_in_and_out_with_a_session_cookie_that_is_httponly_strict_and_secure(https: TestClient) -> None:
    assert https.get("/workspace/").headers["location"] == "/workspace/sign-in"
    assert https.get("/workspace").status_code == 307
    signed_in = sign_in(https, "lead")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/workspace/"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie and "Path=/workspace/" in cookie
    home = https.get("/workspace/")
    assert home.status_code == 200 and "lead (network lead)" in home.text
    assert "Follow-up after tonsillectomy" in home.text
    kept = https.cookies.get(COOKIE)

    signed_out = https.post("/workspace/sign-out", data={"csrf": csrf(https, "/workspace/")})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/workspace/sign-in"
    assert https.get("/workspace/").status_code == 303
    # A copy of the old cookie is no longer a session either.
    https.cookies.set(COOKIE, kept)
    assert https.get("/workspace/").status_code == 303


def test_over_plain_http_the_cookie_is_not_marked_secure(network: str) -> None:
    with TestClient(create_app(network, TEST_SECURITY), base_url="http://testserver", follow_redirects=False) as http:
        cookie = sign_in(http, "lead").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie


def test_a_wrong_password_is_refused_and_five_lock_the_account_for_15_minutes(https: TestClient, network: str) -> None:
    unknown = sign_in(https, "nobody")
    assert unknown.status_code == 400 and "The name or the password is not right" in unknown.text
    assert 'href="#password"' in unknown.text  # the error summary links to the field
    for _attempt in range(MAX_FAILURES - 1):
        wrong = sign_in(https, "rhq", "not-the-password")
        assert wrong.status_code == 400 and "not right" in wrong.text
    assert "locked for 15 minutes" in sign_in(https, "rhq", "not-the-password").text
    store = Store.open(network)
    try:
        account = account_store.find(store, "rhq")
    finally:
        store.close()
    assert account is not None and account.locked_until is not None
    assert abs(account.locked_until - (datetime.now(UTC) + LOCK_FOR)) < timedelta(minutes=1)
    # Even the right password is refused while locked; other accounts are not affected.
    locked = sign_in(https, "rhq")
    assert locked.status_code == 429 and "locked" in locked.text
    assert sign_in(https, "rp5").status_code == 303


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(https: TestClient, network: str) -> None:
    bare = TestClient(https.app, base_url="https://testserver", follow_redirects=False)
    assert bare.post("/workspace/sign-in", data={"name": "lead", "password": PASSWORD}).status_code == 403
    assert sign_in(https, "lead").status_code == 303
    before = register_entries(network)
    form = warranted_form("")
    assert https.post(f"/workspace/topics/{TOPIC}/warranted", data=form).status_code == 403
    del form["csrf"]
    refused = https.post(f"/workspace/topics/{TOPIC}/warranted", data=form)
    assert refused.status_code == 403 and "CSRF" in refused.text
    form["csrf"] = "forged-" + "x" * 40
    assert https.post(f"/workspace/topics/{TOPIC}/warranted", data=form).status_code == 403
    assert https.post("/workspace/guidelines/guideline-tonsillectomy-follow-up/retire", data={}).status_code == 403
    assert register_entries(network) == before
    assert rp5_sleep_review(network) == "unwarranted"


def test_a_trusts_lead_cannot_decide_nor_import_another_trusts_workbook(https: TestClient, network: str) -> None:
    assert sign_in(https, "rhq").status_code == 303
    token = csrf(https, f"/workspace/topics/{TOPIC}")
    assert "Record as warranted" not in https.get(f"/workspace/topics/{TOPIC}").text
    before = register_entries(network)
    refused = https.post(f"/workspace/topics/{TOPIC}/warranted", data=warranted_form(token))
    assert refused.status_code == 403 and "only a network lead" in refused.text
    assert register_entries(network) == before and rp5_sleep_review(network) == "unwarranted"
    assert "Release" not in https.get("/workspace/guidelines").text
    for action in ("approve", "release", "retire"):
        assert https.post(f"/workspace/guidelines/guideline-tonsillectomy-follow-up/{action}",
                          data={"csrf": token}).status_code == 403
    assert https.get("/workspace/pathways/template", params={"topic": TOPIC, "trust": "RP5"}).status_code == 403

    store = Store.open(network)
    try:
        rp5_workbook = template(store, TOPIC, "RP5", datetime.now(UTC).date()).workbook
        versions = sum(1 for _ in store.history("PlanDefinition", count=500).versions)
    finally:
        store.close()
    forged = https.post("/workspace/pathways/import", data={"csrf": token},
                        files={"workbook": ("rp5.xlsx", rp5_workbook, "application/octet-stream")})
    assert forged.status_code == 403 and "RP5" in forged.text
    store = Store.open(network)
    try:
        assert sum(1 for _ in store.history("PlanDefinition", count=500).versions) == versions
    finally:
        store.close()


def test_a_trusts_lead_downloads_its_template_and_imports_it_seeing_problems_or_the_new_version(
        https: TestClient, network: str) -> None:
    def upload(name: str, content: bytes, token: str) -> object:
        return https.post("/workspace/pathways/import", data={"csrf": token},
                          files={"workbook": (name, content, "application/octet-stream")})

    # RHQ has no tonsillectomy pathway in the sample: its template is empty, and imported as it is, each
    # problem is named by sheet (and row and column where there is one); nothing is written.
    assert sign_in(https, "rhq").status_code == 303
    token = csrf(https, "/workspace/pathways")
    empty = https.get("/workspace/pathways/template", params={"topic": TOPIC})
    assert empty.status_code == 200
    assert empty.headers["content-disposition"] == 'attachment; filename="RHQ-tonsillectomy-follow-up.xlsx"'
    broken = upload("x.xlsx", b"not a workbook", token)
    assert broken.status_code == 400 and "was not imported" in broken.text
    no_steps = upload("rhq.xlsx", empty.content, token)
    assert no_steps.status_code == 400 and "<td>Steps</td>" in no_steps.text and "has no steps" in no_steps.text
    https.post("/workspace/sign-out", data={"csrf": token})

    # RP5's lead downloads the template prefilled from its stored pathway (the next version) and imports it.
    assert sign_in(https, "rp5").status_code == 303
    token = csrf(https, "/workspace/pathways")
    prefilled = https.get("/workspace/pathways/template", params={"topic": TOPIC})
    imported = upload("rp5.xlsx", prefilled.content, token)
    assert imported.status_code == 200, imported.text
    assert "Imported" in imported.text and "The new version is PlanDefinition/" in imported.text
    code, output = cli("compare", TOPIC, "--database", network, "--format", "json")
    rp5 = next(t for t in json.loads(output)["topics"][0]["trusts"] if t["ods"] == "RP5")
    # The version compare now reports for RP5 is the one imported.
    version = read_workbook(prefilled.content).pathway["version"]
    assert version and rp5["pathway"].endswith(f"|{version}"), (rp5["pathway"], version)


def test_a_network_lead_approves_and_releases_a_draft_guideline(https: TestClient, network: str) -> None:
    from service.application import guidelines

    store = Store.open(network)
    try:
        with store.write() as writer:
            draft = guidelines.draft(writer, "guideline-tonsillectomy-follow-up", "1.1.0", datetime.now(UTC).date())
    finally:
        store.close()
    assert sign_in(https, "lead").status_code == 303
    token = csrf(https, "/workspace/guidelines")
    early = https.post(f"/workspace/guidelines/{draft.resource_id}/release", data={"csrf": token})
    assert early.status_code == 409 and "has not been approved" in early.text
    approved = https.post(f"/workspace/guidelines/{draft.resource_id}/approve",
                          data={"csrf": token, "comment": "Agreed at the board."})
    assert approved.status_code == 200 and "Approved PlanDefinition/" in approved.text
    released = https.post(f"/workspace/guidelines/{draft.resource_id}/release", data={"csrf": token})
    assert released.status_code == 200 and "Released PlanDefinition/" in released.text
    code, output = cli("guideline", "list", "--database", network, "--format", "json")
    rows = {row["reference"]: row for row in json.loads(output) if row["topic"] == TOPIC}
    assert rows[f"PlanDefinition/{draft.resource_id}"]["status"] == "active"
    assert rows["PlanDefinition/guideline-tonsillectomy-follow-up"]["status"] == "retired"


def test_user_add_needs_one_role_a_known_trust_a_long_password_and_a_new_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'accounts.db'}"

    def add(*args: str, password: str = PASSWORD) -> tuple[int, str]:
        return cli("user", "add", *args, "--password-stdin", "--database", url, stdin=password + "\n")

    assert add("x")[0] == 2
    assert add("x", "--trust", "RHQ", "--network-lead")[0] == 2
    assert add("x", "--trust", "XYZ")[0] == 2
    assert add("x", "--trust", "RHQ", password="short")[0] == 2
    assert add("x", "--trust", "rhq")[0] == 0
    code, output = add("x", "--network-lead")
    assert code == 1 and "exists already" in output
    store = Store.open(url)
    try:
        account = account_store.find(store, "x")
    finally:
        store.close()
    assert account is not None and (account.trust, account.network_lead) == ("RHQ", False)
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash
