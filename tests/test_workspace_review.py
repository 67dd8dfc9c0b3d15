"""Reviewing variation in the workspace (issue #18, part 2) over HTTP, on SQLite and PostgreSQL: a topic's matrix
with each unwarranted cell's "record as warranted" form, and the register page's renew and retire, for network
leads only, every form refused without its CSRF token, bad input named and nothing stored.

The sample network (tests/conftest.py) as ``harmonise compare tonsillectomy-follow-up`` reports it: RP5's sleep
review is late (timing) and by telephone (mode), both unwarranted; its recovery call is late (timing) alone.
"""

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Final

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from service.application import decisions
from service.register import RegisterEntry
from service.store import Store
from service.workspace import create_workspace_app
from service.workspace.review import SOON_DAYS

from .stores import TEST_SECURITY
from .workspaces import TOPIC, cli, csrf, register_entries, sign_in

#: The day the register page is read on: the sample register's review dates fall either side of it.
DAY: Final = date(2026, 11, 22)
SLEEP_REVIEW: Final = "/workspace/topics/" + TOPIC


def classifications(url: str, trust: str, step: str) -> dict[str, str]:
    """Each dimension's classification for the trust's step, as ``harmonise compare`` reports it."""
    code, output = cli("compare", TOPIC, "--database", url, "--format", "json")
    assert code == 0, output
    return {d["dimension"]: d["classification"] for d in json.loads(output)["topics"][0]["differences"]
            if (d["trust"], d["step"]) == (trust, step)}


def cell(page: str, trust: str, step: str) -> str:
    """The HTML of one matrix cell."""
    found = re.search(rf'<td class="cell ([^"]*)" id="cell-{trust}-{step}">(.*?)</td>', page, re.S)
    assert found, page
    return found.group(1) + " " + found.group(2)


def recording(token: str, *dimensions: str, **changes: str) -> dict[str, object]:
    return {"csrf": token, "trust": "RP5", "step": "sleep-review", "dimension": list(dimensions),
            "rationale": "Illustrative: the sleep clinic's capacity.", "agreed_by": "Network clinical board",
            "review_by": (date.today() + timedelta(days=300)).isoformat(), **changes}


def test_the_matrix_offers_each_unwarranted_cell_to_a_network_lead(https: TestClient) -> None:
    assert sign_in(https, "lead").status_code == 303
    page = https.get(SLEEP_REVIEW).text
    sleep = cell(page, "RP5", "sleep-review")
    assert sleep.startswith("hm-unwarranted") and "unwarranted" in sleep
    # Its form offers both unwarranted differences, checked; the recovery call's only its timing.
    assert 'id="RP5-sleep-review-timing" name="dimension" value="timing"' in sleep
    assert 'id="RP5-sleep-review-mode" name="dimension" value="mode"' in sleep
    recovery = cell(page, "RP5", "recovery-call")
    assert re.findall(r'name="dimension" value="(\w+)"', recovery) == ["timing"]
    # RCU's mode difference at the sleep review is warranted in the sample register: nothing to record there.
    assert "Record as warranted" not in cell(page, "RCU", "sleep-review")
    assert "Warranted (agreed reason)" in page


def test_a_network_lead_records_a_cell_as_warranted_audited_as_themselves(https: TestClient, network: str) -> None:
    assert classifications(network, "RP5", "sleep-review") == {"timing": "unwarranted", "mode": "unwarranted"}
    assert sign_in(https, "lead").status_code == 303
    token = csrf(https, SLEEP_REVIEW)
    recorded = https.post(f"{SLEEP_REVIEW}/warranted", data=recording(token, "timing", "mode"))
    assert recorded.status_code == 200, recorded.text
    assert "Recorded as warranted" in recorded.text and "timing, how it is done" in recorded.text
    # The page shows the cell as warranted, and compare reports both differences so.
    assert cell(recorded.text, "RP5", "sleep-review").startswith("hm-warranted")
    assert classifications(network, "RP5", "sleep-review") == {"timing": "warranted", "mode": "warranted"}
    references = re.findall(r"Basic/wv-rp5-[0-9a-f]{16}", recorded.text[recorded.text.index('role="status"'):][:800])
    assert len(set(references)) == 2, recorded.text
    store = Store.open(network)
    try:
        audits = [v.resource for v in store.current("Provenance") if v.resource
                  and any(t["reference"].split("/_history")[0] in references for t in v.resource["target"])]
    finally:
        store.close()
    assert audits and {a["agent"][0]["who"]["identifier"]["value"] for a in audits} == {"lead"}
    assert all("workspace" in a["agent"][0]["who"]["display"] for a in audits)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"rationale": " "}, "RP5-sleep-review-rationale", "Enter why the network agreed this variation"),
    ({"agreed_by": ""}, "RP5-sleep-review-agreed_by", "Enter who agreed it"),
    ({"review_by": "30/11/2027"}, "RP5-sleep-review-review_by", "Enter the review date as a real date"),
    ({"review_by": "2027-02-30"}, "RP5-sleep-review-review_by", "Enter the review date as a real date"),
    ({"review_by": date.today().isoformat()}, "RP5-sleep-review-review_by", "The review date must be after today"),
    ({"review_by": "2020-01-01"}, "RP5-sleep-review-review_by", "The review date must be after today"),
])
def test_bad_input_is_named_at_its_field_and_nothing_is_stored(https: TestClient, network: str,
                                                               changes: dict[str, str], field: str,
                                                               message: str) -> None:
    assert sign_in(https, "lead").status_code == 303
    before = register_entries(network)
    refused = https.post(f"{SLEEP_REVIEW}/warranted", data=recording(csrf(https, SLEEP_REVIEW), "timing", **changes))
    assert refused.status_code == 400
    assert f'href="#{field}"' in refused.text and message in refused.text
    assert f'id="{field}"' in refused.text and f'id="{field}-error"' in refused.text
    # The cell's form stays open with what was typed.
    assert re.search(r'<details open>\s*<summary>Record as warranted<span class="skip"> \(RP5, Review of sleep',
                     refused.text)
    assert register_entries(network) == before


def test_no_difference_chosen_or_a_step_without_one_is_named_and_nothing_is_stored(https: TestClient,
                                                                                  network: str) -> None:
    assert sign_in(https, "lead").status_code == 303
    token = csrf(https, SLEEP_REVIEW)
    before = register_entries(network)
    none = https.post(f"{SLEEP_REVIEW}/warranted", data=recording(token))
    assert none.status_code == 400 and "Choose at least one difference" in none.text
    # RP5 has no participant difference at its sleep review: the use case refuses an entry covering nothing.
    nothing = https.post(f"{SLEEP_REVIEW}/warranted", data=recording(token, "participant"))
    assert nothing.status_code == 400 and "covers no difference in today" in nothing.text
    forged = https.post(f"{SLEEP_REVIEW}/warranted", data=recording(token, "timing", trust="XYZ"))
    assert forged.status_code == 400 and "reload the topic" in forged.text
    assert register_entries(network) == before


def test_a_trusts_lead_sees_the_matrix_read_only_and_cannot_record(https: TestClient, network: str) -> None:
    assert sign_in(https, "rp5").status_code == 303
    page = https.get(SLEEP_REVIEW).text
    assert cell(page, "RP5", "sleep-review").startswith("hm-unwarranted")
    assert "Record as warranted" not in page and 'name="dimension"' not in page
    before = register_entries(network)
    refused = https.post(f"{SLEEP_REVIEW}/warranted", data=recording(csrf(https, SLEEP_REVIEW), "timing"))
    assert refused.status_code == 403 and "only a network lead may record a variation as warranted" in refused.text
    assert register_entries(network) == before


def test_a_forged_post_without_the_csrf_token_is_refused(https: TestClient, network: str) -> None:
    assert sign_in(https, "lead").status_code == 303
    before = register_entries(network)
    for token in ("", "forged-" + "x" * 40):
        assert https.post(f"{SLEEP_REVIEW}/warranted", data=recording(token, "timing")).status_code == 403
        for action in ("renew", "retire"):
            assert https.post(f"/workspace/register/wv-rcu-2d9d5ffa5c6a2910/{action}",
                              data={"csrf": token, "review_by": "2030-01-01", "rationale": "x",
                                    "reason": "x"}).status_code == 403
    assert register_entries(network) == before
    assert classifications(network, "RP5", "sleep-review")["timing"] == "unwarranted"


@pytest.fixture
def on_the_day(network: str) -> Iterator[TestClient]:
    """The workspace alone, on the sample network, read on ``DAY``."""
    store = Store.open(network)
    outer = FastAPI()
    outer.mount("/workspace", create_workspace_app(store, TEST_SECURITY, today=lambda: DAY))
    try:
        with TestClient(outer, base_url="https://testserver", follow_redirects=False) as client:
            yield client
    finally:
        store.close()


def states(page: str) -> list[tuple[str, str, str]]:
    """(entry id, state, review date) of each row of the register page, in order."""
    return re.findall(r'<tr id="(wv-[^"]+)">\s*<td><span class="tag [^"]+">([^<]+)</span>.*?</td>\s*<td>([^<]+)</td>',
                      page, re.S)


def entry(url: str, entry_id: str) -> RegisterEntry:
    store = Store.open(url)
    try:
        return dict(decisions.entries(store.current("Basic")))[entry_id]
    finally:
        store.close()


def test_the_register_lists_expired_and_soon_due_entries_first(on_the_day: TestClient) -> None:
    assert SOON_DAYS == 30
    assert sign_in(on_the_day, "lead").status_code == 303
    page = on_the_day.get("/workspace/register").text
    assert "must be reviewed within 30 days" in page
    rows = states(page)
    # On 22 November 2026: three entries past their review date (oldest first), one due by 22 December, then the
    # nine in force, each by review date.
    assert [(state, day) for _id, state, day in rows[:5]] == [
        ("expired", "2025-09-10"), ("expired", "2026-03-31"), ("expired", "2026-06-30"), ("due soon", "2026-12-01"),
        ("in force", "2027-03-01")]
    assert len(rows) == 13 and {state for _id, state, _day in rows[4:]} == {"in force"}
    assert page.count('/renew"') == 13 and page.count('/retire"') == 13


def test_a_network_lead_renews_and_retires_entries(on_the_day: TestClient, network: str) -> None:
    assert sign_in(on_the_day, "lead").status_code == 303
    token = csrf(on_the_day, "/workspace/register")
    expired = states(on_the_day.get("/workspace/register").text)[0][0]
    late = on_the_day.post(f"/workspace/register/{expired}/renew",
                           data={"csrf": token, "review_by": "2026-11-22", "rationale": "Kept."})
    assert late.status_code == 400 and f'href="#{expired}-review_by"' in late.text
    assert "The review date must be after today (2026-11-22)" in late.text
    assert entry(network, expired).review_by == date(2025, 9, 10)
    renewed = on_the_day.post(f"/workspace/register/{expired}/renew",
                              data={"csrf": token, "review_by": "2027-09-10", "rationale": "Reviewed: still needed."})
    assert renewed.status_code == 200 and f"Renewed Basic/{expired}" in renewed.text
    assert (entry(network, expired).review_by, entry(network, expired).rationale) == (
        date(2027, 9, 10), "Reviewed: still needed.")
    assert (expired, "in force", "2027-09-10") in states(renewed.text)

    no_reason = on_the_day.post(f"/workspace/register/{expired}/retire", data={"csrf": token, "reason": ""})
    assert no_reason.status_code == 400 and "Enter why the network ends this entry" in no_reason.text
    retired = on_the_day.post(f"/workspace/register/{expired}/retire",
                              data={"csrf": token, "reason": "The trust now follows the guideline."})
    assert retired.status_code == 200 and f"Retired Basic/{expired}" in retired.text
    assert entry(network, expired).retired_on == DAY
    assert states(retired.text)[-1] == (expired, "retired", "2027-09-10")
    again = on_the_day.post(f"/workspace/register/{expired}/retire", data={"csrf": token, "reason": "Twice."})
    assert again.status_code == 400 and "was retired already" in again.text and f'href="#{expired}"' in again.text
    assert on_the_day.post("/workspace/register/wv-nothing/retire",
                           data={"csrf": token, "reason": "x"}).status_code == 404


def test_a_trusts_lead_reads_the_register_but_cannot_renew_or_retire(on_the_day: TestClient, network: str) -> None:
    assert sign_in(on_the_day, "rp5").status_code == 303
    page = on_the_day.get("/workspace/register").text
    assert len(states(page)) == 13 and "/renew" not in page and "/retire" not in page
    token = csrf(on_the_day, "/workspace/register")
    first = states(page)[0][0]
    for action in ("renew", "retire"):
        refused = on_the_day.post(f"/workspace/register/{first}/{action}",
                                  data={"csrf": token, "review_by": "2027-01-01", "rationale": "x", "reason": "x"})
        assert refused.status_code == 403 and f"only a network lead may {action} a register entry" in refused.text
    assert entry(network, first).retired_on is None and entry(network, first).review_by == date(2025, 9, 10)


def test_htmx_is_served_by_the_workspace_and_only_a_lead_s_topic_page_loads_it(https: TestClient) -> None:
    script = https.get("/workspace/htmx.min.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"htmx" in script.content[:2000]
    assert sign_in(https, "lead").status_code == 303
    page = https.get(SLEEP_REVIEW)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/workspace/htmx.min.js" defer></script>' in page.text
    # The cell's form posts as a plain form too (no JavaScript), and with htmx swaps only its own cell.
    form = re.search(r'<form method="post" action="/workspace/topics/[^"]+/warranted" novalidate([^>]*)>',
                     cell(page.text, "RP5", "sleep-review"))
    assert form and 'hx-target="#cell-RP5-sleep-review"' in form.group(1)
    assert 'hx-select="#cell-RP5-sleep-review"' in form.group(1)
    https.post("/workspace/sign-out", data={"csrf": csrf(https, SLEEP_REVIEW)})
    assert sign_in(https, "rp5").status_code == 303
    assert "htmx" not in https.get(SLEEP_REVIEW).text
