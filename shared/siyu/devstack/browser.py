"""The ops console in a real browser: Debian's Chromium, driven by Playwright, signing in
through the simulator's WeCom login page as a person would. `make console-shots` writes a
screenshot of every page; the e2e tests and the bench use the same sign-in."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from siyu.devstack.registry import ROOT
from siyu.devstack.stack import LOCAL_FIRST_ADMIN, StackConfig

CHROMIUM = "/usr/bin/chromium"
# Headless, and nothing that calls out: this machine reaches only package registries.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / ".siyu" / "screenshots"
PAGES = (
    "dashboard",
    "customers",
    "groups",
    "campaigns",
    "campaigns/new",
    "tag-rules",
    "channels",
    "followups",
    "transfers",
    "imports",
    "calendar",
    "audit",
)


def chromium_path() -> str:
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if not found:
        raise RuntimeError("no Chromium: `make chromium` installs Debian's package")
    return found


@contextmanager
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def sign_in(browser: Browser, cfg: StackConfig, userid: str = LOCAL_FIRST_ADMIN) -> Page:
    """Open the console, get sent to WeCom's (simulated) login, scan as `userid`, and land
    on the dashboard with a session."""
    page = browser.new_page(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
    )
    page.goto(f"{cfg.gateway_url}/console")
    page.wait_for_url(f"{cfg.simulator_url}/wwlogin/sso/login**")
    page.get_by_label("成员 UserID").fill(userid)
    page.get_by_role("button", name="扫码确认登录").click()
    page.wait_for_url(f"{cfg.gateway_url}/console**")
    page.get_by_role("button", name="退出登录").wait_for()
    return page


def open_page(page: Page, cfg: StackConfig, route: str) -> None:
    """Go to a console page and wait until it has loaded what it shows."""
    page.goto(f"{cfg.gateway_url}/console#/{route}")
    page.locator(".page:not([aria-busy])").wait_for(state="attached")


def screenshots(cfg: StackConfig, out: Path = SHOTS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with browser() as chromium:
        page = sign_in(chromium, cfg)
        for route in PAGES:
            open_page(page, cfg, route)
            path = out / f"{route.replace('/', '-')}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
    return written


def main() -> None:
    """`make console-shots`: the stack up with the demo's data, every page shot, down."""
    from siyu.devstack import scenario, stack

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=SHOTS)
    args = parser.parse_args()
    cfg = StackConfig.from_env()
    stack.up(cfg)
    try:
        scenario.play_all(cfg)
        for path in screenshots(cfg, args.out):
            print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    finally:
        stack.down(cfg.state_dir)


if __name__ == "__main__":
    main()
