"""The ops console in Debian's Chromium against the local stack: a member signs in through
the simulator's WeCom login and works the console with mouse and keyboard; every change is
read back from the API and the audit log."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from siyu.devstack import browser as console
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until
from tests.e2e.test_callback_path import add, unique, wait_customer


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with console.browser() as launched:
        yield launched


@pytest.fixture
def page(chromium: Browser, stack: StackConfig) -> Iterator[Page]:
    signed_in = console.sign_in(chromium, stack)
    yield signed_in
    signed_in.close()


def go(page: Page, stack: StackConfig, route: str) -> None:
    console.open_page(page, stack, route)


def test_sign_in_through_wecom_lands_on_the_dashboard_and_reads_the_funnel(
    page: Page, stack: StackConfig, sim: httpx.Client, ops: httpx.Client
) -> None:
    ext = unique("wm_console")
    add(sim, ext)
    assert wait_customer(ops, ext, 10)
    expect(page.locator("#who")).to_contain_text("ops_admin（管理员）")
    today = (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()

    def counted() -> int | None:
        report = ops.get(
            "/ops/reports/funnel", params={"from": today, "to": today, "by": "channel"}
        ).json()
        added = report["rows"][-1]["counts"]["added"]
        return added if added else None

    added = until(counted, timeout_s=10)
    go(page, stack, f"dashboard?by=channel&from={today}&to={today}")
    page.locator("[data-ready=dashboard]").wait_for(state="attached")
    bar = page.locator("svg.chart g.bar[data-step=added] title")
    assert bar.text_content() == f"添加好友: {added}"
    chart = page.get_by_role("img", name="漏斗：添加好友")
    expect(chart).to_be_visible()
    total = page.locator("table").first.locator("tbody tr").last
    expect(total.locator("td").nth(1)).to_have_text(str(added))
    expect(page.get_by_role("heading", name="系统健康")).to_be_visible()


def test_a_campaign_with_a_banned_claim_is_refused_then_saved_and_listed(
    page: Page, stack: StackConfig, ops: httpx.Client
) -> None:
    campaign_id = f"console-{uuid.uuid4().hex[:6]}"
    go(page, stack, "campaigns/new")
    page.get_by_label("活动ID").fill(campaign_id)
    page.get_by_label("名称").fill("午餐优惠")
    page.get_by_label("执行频率").select_option("weekly")
    page.get_by_label("周一").uncheck()
    page.get_by_label("周三").check()
    page.get_by_label("发送时间").fill("11:30")
    copy = page.get_by_label("文案")
    copy.fill("本产品保本稳赚，{weekday}午餐立减")
    verdict = page.locator("#copy-verdict")
    expect(verdict).to_contain_text("含违规用语：保本、稳赚")  # checked as typed
    expect(copy).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="保存").click()
    error = page.locator(".field:has([data-field='content.text']) .error")
    expect(error).to_contain_text("banned financial claims")  # the API refused it
    expect(copy).to_be_focused()
    assert ops.get(f"/ops/campaigns/{campaign_id}").status_code == 404
    copy.fill("{weekday}午餐到店立减10元")
    expect(verdict).to_contain_text("文案合规")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"#/campaigns$"))
    expect(page.get_by_role("link", name=campaign_id)).to_be_visible()
    saved = ops.get(f"/ops/campaigns/{campaign_id}").json()
    assert saved["schedule"] == {"kind": "weekly", "weekdays": [3], "at": "11:30"}
    page.get_by_role("link", name=campaign_id).click()
    page.get_by_role("button", name="预览下一次发送").click()
    facts = page.locator("dl.facts")
    expect(facts.locator("dt", has_text="覆盖人数")).to_be_visible()
    expect(facts.locator("dt", has_text="下一次")).to_be_visible()
    expect(page.get_by_role("heading", name="执行记录")).to_be_visible()


def test_registering_a_group_names_the_missing_field_and_lands_in_the_audit_log(
    page: Page, stack: StackConfig, ops: httpx.Client, sim: httpx.Client
) -> None:
    chat_id = f"wr_console_{uuid.uuid4().hex[:6]}"
    sim.post("/_sim/groups", json={"chat_id": chat_id, "owner": "zhangsan"}).raise_for_status()
    go(page, stack, "groups/new")
    page.get_by_label("群ID（chat_id）").fill(chat_id)
    page.get_by_label("名称").fill("陆家嘴午餐福利群")
    page.get_by_label("群主").fill("zhangsan")
    page.get_by_label("城市").fill("上海")
    page.get_by_label("类型").fill("food")
    page.get_by_label("经度").fill("121.5055")
    page.get_by_role("button", name="保存").click()
    lat = page.get_by_label("纬度")
    expect(lat).to_have_attribute("aria-invalid", "true")
    expect(lat).to_be_focused()
    expect(page.locator(".field:has([data-field=lat]) .error")).to_contain_text("纬度")
    lat.fill("31.2397")
    page.get_by_label("当前人数").fill("150")
    page.keyboard.press("Enter")  # submitted from the keyboard
    expect(page).to_have_url(re.compile(r"#/groups$"))
    row = page.locator("tr", has=page.get_by_role("link", name=chat_id))
    expect(row.locator("meter")).to_have_attribute("value", "150")
    expect(page.locator(f"svg a.point[href='#/groups/{chat_id}']")).to_have_count(1)
    assert ops.get(f"/ops/groups/{chat_id}").json()["member_count"] == 150
    go(page, stack, f"audit?target=chat_id%3D{chat_id}")
    entry = page.locator("tbody tr").first
    expect(entry).to_contain_text("PUT /ops/groups/{chat_id}")
    expect(entry).to_contain_text("ops_admin")
    expect(entry).to_contain_text("陆家嘴午餐福利群")


def tab_to(page: Page, text: str, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element reads `text`, as a keyboard user."""
    for _ in range(60):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"Tab never reached {text!r}")


def test_every_page_works_from_the_keyboard_and_every_control_is_labelled(
    page: Page, stack: StackConfig
) -> None:
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # each page starts at its title
    tab_to(page, "营销活动", backwards=True)  # the navigation sits before the page
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/campaigns$"))
    expect(page.get_by_role("heading", level=1, name="营销活动")).to_be_focused()
    tab_to(page, "新建活动")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/campaigns/new$"))
    tab_to(page, "跳到正文", backwards=True)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for route in console.PAGES:
        go(page, stack, route)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('main input, main select, main textarea')]
                 .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map((el) => el.outerHTML)"""
        )
        assert unlabelled == [], (route, unlabelled)
        clickable = page.evaluate(
            "() => [...document.querySelectorAll('main [onclick], main div[tabindex]')].length"
        )
        assert clickable == 0, route  # actions are buttons and links, reached with Tab


def test_a_csv_import_shows_progress_and_names_each_refused_row(
    page: Page, stack: StackConfig, ops: httpx.Client, tmp_path
) -> None:
    prefix = uuid.uuid4().hex[:6]
    rows = [
        f"wr_imp_{prefix}_{n},导入群{n},zhangsan,上海,food,31.23,121.47,gcj02,{n}"
        for n in range(450)
    ]
    bad = f"wr_imp_{prefix}_bad,坏行,zhangsan,上海,food,91.0,121.47,gcj02,1"
    sheet = tmp_path / "groups.csv"
    header = "chat_id,name,owner_userid,city,kind,lat,lng,coord_system,member_count"
    sheet.write_text("\n".join([header, *rows, bad]) + "\n", encoding="utf-8")
    go(page, stack, "imports")
    page.get_by_label("导入类型").select_option("groups")
    page.get_by_label("选择 CSV 文件").set_input_files(str(sheet))
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_text("导入完成：已写入 450 / 450 行（共 451 行）")).to_be_visible()
    refused = page.locator("table", has=page.locator("caption", has_text="被拒绝的行"))
    expect(refused.locator("tbody tr")).to_have_count(1)
    expect(refused.locator("tbody tr")).to_contain_text("452")
    expect(refused.locator("tbody tr")).to_contain_text("lat")
    assert ops.get(f"/ops/groups/wr_imp_{prefix}_449").json()["name"] == "导入群449"
    assert ops.get(f"/ops/groups/wr_imp_{prefix}_bad").status_code == 404


def test_a_viewer_sees_no_write_controls_and_a_forged_write_is_refused(
    chromium: Browser, stack: StackConfig, ops: httpx.Client
) -> None:
    ops.put("/ops/members/console_viewer", json={"role": "viewer", "branches": ["*"]})
    viewer = console.sign_in(chromium, stack, "console_viewer")
    try:
        console.open_page(viewer, stack, "campaigns")
        expect(viewer.get_by_role("link", name="新建活动")).to_have_count(0)
        expect(viewer.get_by_role("link", name="操作日志")).to_have_count(0)
        status = viewer.evaluate(
            """async () => (await fetch('/ops/groups/wr_forged', {method: 'PUT',
                 headers: {'Content-Type': 'application/json'}, body: '{}'})).status"""
        )
        assert status == 403
    finally:
        viewer.close()


def test_the_console_files_carry_a_strict_content_security_policy(stack: StackConfig) -> None:
    page = httpx.get(f"{stack.gateway_url}/console", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    etag = page.headers["ETag"]
    again = httpx.get(f"{stack.gateway_url}/console", headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304
    assert httpx.get(f"{stack.gateway_url}/console/nope.js", timeout=10).status_code == 404
