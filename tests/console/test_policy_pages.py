"""The month's policy as a form: shown, checked by the planner's parser, saved, up/downloaded."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from odekake.access import audit
from odekake.storage.db import connect
from planner import policy_form
from tests.console.conftest import Browser

MONTH = "2026-12"


def form_fields(html: str) -> dict[str, str]:
    """Every input of the policy form with its current value (what a browser would send)."""
    form = html.split('id="policy-form"', 1)[1].split("</form>", 1)[0]
    return {
        m.group(1): m.group(2).replace("&#34;", '"').replace("&amp;", "&")
        for m in re.finditer(r'<input name="([^"]+)" value="([^"]*)"', form)
    }


def test_policy_form_shows_the_default_for_next_month(coordinator: Browser) -> None:
    r = coordinator.client.get("/console/plans/policy")
    assert r.status_code == 200
    assert "2026-12-01〜2026-12-31" in r.text  # the clock says 2026-11-20: next month
    fields = form_fields(r.text)
    assert fields["month"] == MONTH
    assert fields["d.kawamae.min_visits"] == "1"
    assert fields["windows.default"] == "10:00-12:00, 13:30-15:30"
    assert fields["van.van-1.shift"] == "08:30-17:15"


def test_saving_the_form_writes_the_same_toml(coordinator: Browser, hub_path: Path) -> None:
    fields = form_fields(coordinator.client.get("/console/plans/policy").text)
    fields["d.kawamae.min_visits"] = "2"
    fields["calendar.opened"] = "2026-12-05"
    fields["resv.0.site"] = "miwa-02"
    fields["resv.0.from"] = "2026-12-03"
    fields["resv.0.to"] = "2026-12-10"
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 303, r.text
    db = connect(hub_path)
    text = policy_form.saved_policy(db, MONTH)
    assert text is not None
    doc = tomllib.loads(text)
    assert doc["districts"]["kawamae"]["min_visits"] == 2
    assert doc["calendar"]["opened"] == ["2026-12-05"]
    assert doc["events"]["reservation"][0]["site"] == "miwa-02"
    assert audit.entries(db)[-1].action == "policy.save"
    # downloaded, it is that same text
    dl = coordinator.client.get(f"/console/plans/policy.toml?month={MONTH}")
    assert dl.text == text and "attachment" in dl.headers["content-disposition"]
    # and the form shows it again
    again = form_fields(coordinator.client.get(f"/console/plans/policy?month={MONTH}").text)
    assert again["d.kawamae.min_visits"] == "2"


def test_bad_number_is_shown_beside_its_field(coordinator: Browser, hub_path: Path) -> None:
    fields = form_fields(coordinator.client.get("/console/plans/policy").text)
    fields["d.ogawa.max_visits"] = "たくさん"
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 400
    row = r.text.split('name="d.ogawa.max_visits"', 1)[1][:300]
    assert 'id="e-d-ogawa-max_visits" data-field="d.ogawa.max_visits">整数で入力してください' in row
    assert 'value="たくさん"' in r.text  # what was typed stays
    assert policy_form.saved_policy(connect(hub_path), MONTH) is None


def test_parser_message_is_shown_beside_the_window_field(coordinator: Browser) -> None:
    fields = form_fields(coordinator.client.get("/console/plans/policy").text)
    fields["windows.default"] = "10:00-12:00, 13:30"
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 400
    assert 'data-field="windows.default">受付時間帯は 10:00-12:00 の形で書きます' in r.text


def test_parser_message_for_a_bad_maintenance_day(coordinator: Browser) -> None:
    fields = form_fields(coordinator.client.get("/console/plans/policy").text)
    fields["van.van-1.maintenance"] = "2026-13-40"
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 400
    m = re.search(r'data-field="van.van-1.maintenance">([^<]+)<', r.text)
    assert m and "整備日" in m.group(1)


def test_minimum_above_maximum_is_refused_beside_the_maximum(coordinator: Browser) -> None:
    fields = form_fields(coordinator.client.get("/console/plans/policy").text)
    fields["d.tabito.min_visits"] = "5"
    fields["d.tabito.max_visits"] = "2"
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 400
    assert (
        'data-field="d.tabito.max_visits">田人: 上限(2回)が最低回数(5回)より少なくなっています'
        in r.text
    )


def test_upload_replaces_the_policy_when_the_parser_accepts_it(
    coordinator: Browser, hub_path: Path
) -> None:
    good = Path("examples/plan.toml").read_text(encoding="utf-8")
    token = coordinator.token("/console/plans/policy")
    r = coordinator.client.post(
        "/console/plans/policy/upload",
        data={"csrftoken": token, "month": MONTH},
        files={"file": ("plan.toml", good.encode(), "application/toml")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert policy_form.saved_policy(connect(hub_path), MONTH) == good
    bad = good.replace("[horizon]", "[horizont]")
    r = coordinator.client.post(
        "/console/plans/policy/upload",
        data={"csrftoken": token, "month": MONTH},
        files={"file": ("plan.toml", bad.encode(), "application/toml")},
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert 'data-field="_general">設定ファイルの' in r.text
    assert "不明な項目 horizont があります(horizon のことですか?)" in r.text
    assert policy_form.saved_policy(connect(hub_path), MONTH) == good


def test_policy_changes_need_the_coordinator(browser: Browser, hub_path: Path) -> None:
    browser.login("mgr")
    assert browser.client.get("/console/plans/policy").status_code == 200  # may look
    fields = form_fields(browser.client.get("/console/plans/policy").text)
    r = browser.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 403 and "企画担当" in r.text
    assert policy_form.saved_policy(connect(hub_path), MONTH) is None


def test_policy_post_without_csrf_is_403(coordinator: Browser) -> None:
    fields = form_fields(coordinator.client.get("/console/plans/policy").text)
    r = coordinator.client.post("/console/plans/policy", data=fields)
    assert r.status_code == 403


def test_form_round_trip_keeps_sections_the_form_does_not_show(hub_path: Path) -> None:
    db = connect(hub_path)
    text = Path("examples/plan.toml").read_text(encoding="utf-8")
    view = policy_form.form_view(db, MONTH, text)
    fields = {"month": MONTH, "windows.default": view.windows["default"]}
    fields |= {f"windows.{k}": view.windows[k] for k in ("setup_minutes", "teardown_minutes")}
    for d in view.districts:
        for k in policy_form.DISTRICT_FIELDS:
            fields[f"d.{d['id']}.{k}"] = d[k]
    for v in view.vans:
        fields[f"van.{v['id']}.shift"] = v["shift"]
        fields[f"van.{v['id']}.maintenance"] = v["maintenance"]
    for kind, rows in view.rows.items():
        for i, row in enumerate(rows):
            for k, val in row.items():
                fields[f"{kind}.{i}.{k}"] = val
    from datetime import date

    new, errors = policy_form.apply_form(db, text, fields, date(2026, 11, 20))
    assert errors == {}
    old_doc, new_doc = tomllib.loads(text), tomllib.loads(new)
    for section in ("travel", "demand", "services", "weights"):
        assert new_doc[section] == old_doc[section]
    assert new_doc["events"]["voting"][0]["stops"][0] == {
        "site": "ogawa-04",
        "window": "09:30-12:00",
    }
    assert new_doc["districts"]["kawamae"]["max_visits"] == 2


def test_the_driving_mode_is_chosen_in_the_form(coordinator: Browser, hub_path: Path) -> None:
    page = coordinator.client.get("/console/plans/policy").text
    assert '<option value="approximate" selected>' in page  # the default
    fields = form_fields(page) | {"objective.driving": "exact"}
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 303, r.text
    text = policy_form.saved_policy(connect(hub_path), MONTH)
    assert text is not None and tomllib.loads(text)["objective"]["driving"] == "exact"
    again = coordinator.client.get(f"/console/plans/policy?month={MONTH}").text
    assert '<option value="exact" selected>' in again
    # Not one of the two: said beside the field, nothing saved.
    fields["objective.driving"] = "fast"
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 400
    assert 'data-field="objective.driving">移動時間の数え方は一覧から選びます' in r.text
    text = policy_form.saved_policy(connect(hub_path), MONTH)
    assert text is not None and tomllib.loads(text)["objective"]["driving"] == "exact"


def test_every_error_at_once_beside_its_field_in_the_forms_words(coordinator: Browser) -> None:
    """One save names every broken field (not only the first), each message in the form's
    words (no TOML keys), the weight's beside the weight; what was typed stays."""
    page = coordinator.client.get("/console/plans/policy").text
    fields = form_fields(page)
    fields.update(
        {
            "d.tabito.weight": "-1",
            "d.miwa.min_visits": "3",
            "d.miwa.max_visits": "1",
            "calendar.closed": "2026-12-99",
            "pin.0.site": "tabito-01",
            "pin.0.date": "2026-12-08",
            "pin.0.window": "25:00-26:00",
            "forbid.0.site": "kawamae-01",
            "forbid.0.dates": "2026-13-01",
        }
    )
    r = coordinator.post("/console/plans/policy", fields, page="/console/plans/policy")
    assert r.status_code == 400
    found = dict(re.findall(r'data-field="([^"]+)">([^<]+)<', r.text))
    assert set(found) >= {
        "d.tabito.weight",
        "d.miwa.max_visits",
        "calendar.closed",
        "pin.0.window",
        "forbid.0.dates",
    }, found
    for message in found.values():
        assert not re.search(r"\[\[|calendar\.|windows\.|\bwindow\b|districts\.", message), message
    assert found["calendar.closed"].startswith("休む日")
    assert found["forbid.0.dates"].startswith("訪問しない会場・地区・日の1行目")
    assert 'value="2026-12-99"' in r.text and 'value="25:00-26:00"' in r.text


def test_fields_are_named_by_their_visible_labels(coordinator: Browser) -> None:
    page = coordinator.client.get("/console/plans/policy").text
    names = re.findall(r'aria-label="([^"]+)"', page)
    assert "田人 最低回数" in names and "田人 重み" in names
    assert not [n for n in names if re.fullmatch(r"[a-z0-9_.-]+", n)], names
    # the fields inside a <label> are named by it: no internal key as their name
    assert 'aria-label="windows.default"' not in page
    assert re.search(r"<label>ふだんの時間帯 <input name=\"windows.default\"", page)
