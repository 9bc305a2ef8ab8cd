"""The simulator's web login for internal members, as WeCom's pages define it: the login
link (98152) answers a page where the simulator's user plays the scan, the browser is sent
to `redirect_uri?code=CODE&state=STATE`, and `auth/getuserinfo` (98176) turns the code
into the member's userid once, within five minutes."""

from __future__ import annotations

import html
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, request

from siyu.devstack.simulator_content import Answer, Register

CODE_LIFETIME_S = 300  # 98176: "5分钟未被使用自动过期"
CODES = {
    40029: "invalid code",
    50001: "redirect_uri domain does not match the app's trusted domain",
}
# 98152's link errors, shown on the login page as WeCom's component reports them.
LINK_ERRORS = {
    -31027: "appid 参数错误",
    -31028: "agentid 参数错误",
    -31035: "redirect_uri 不能为空",
    -31039: "redirect_uri 与配置的可信域名不一致",
    -31040: "login_type 参数错误",
}
PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>企业微信登录</title>
<h1>企业微信登录（模拟器）</h1>{body}</html>"""


def _link_error(sim: Any, args: dict[str, str]) -> int | None:
    if args.get("login_type") != "CorpApp":
        return -31040
    if args.get("appid") != sim.config.corp_id:
        return -31027
    if args.get("agentid") != str(sim.config.agent_id):
        return -31028
    if not args.get("redirect_uri"):
        return -31035
    if urlsplit(args["redirect_uri"]).hostname not in sim.config.trusted_domains:
        return -31039
    return None


def register(app: Flask, sim: Any, wecom_api: Register, answer: Answer) -> None:
    @app.get("/wwlogin/sso/login")
    def login_page() -> Response:
        """The page a member scans; here a form names who scans (a member's userid)."""
        args = request.args.to_dict()
        error = _link_error(sim, args)
        if error is not None:
            body = f"<p role='alert'>{error} {html.escape(LINK_ERRORS[error])}</p>"
            return Response(PAGE.format(body=body), status=400, mimetype="text/html")
        hidden = "".join(
            f"<input type='hidden' name='{k}' value='{html.escape(v)}'>" for k, v in args.items()
        )
        form = (
            "<form method='post' action='/wwlogin/sso/scan'>"
            f"{hidden}<label>成员 UserID <input name='userid' id='userid' required></label>"
            "<button type='submit'>扫码确认登录</button></form>"
        )
        return Response(PAGE.format(body=form), mimetype="text/html")

    @app.post("/wwlogin/sso/scan")
    def login_scan() -> Response:
        """The member confirmed on their phone: a one-time code, back to redirect_uri."""
        form = request.form.to_dict()
        error = _link_error(sim, form)
        userid = form.get("userid", "").strip()
        if error is not None or not userid:
            return Response(PAGE.format(body="<p role='alert'>登录失败</p>"), status=400)
        code = secrets.token_urlsafe(32)
        with sim.lock:
            sim.state.login_codes[code] = {"userid": userid, "issued": sim.now(), "used": False}
        query = {"code": code, "state": form.get("state", "")}
        separator = "&" if "?" in form["redirect_uri"] else "?"
        location = f"{form['redirect_uri']}{separator}{urlencode(query)}"
        return Response(status=302, headers={"Location": location})

    @wecom_api("GET", "auth/getuserinfo")
    def getuserinfo(api: str) -> Response:
        """98176: a member's userid (a non-member would get an openid); one use, 5 minutes."""
        if sim.state.token_apps.get(request.args.get("access_token", "")) != "agent":
            return answer(api, 50001)  # only the app with the trusted domain may ask
        found = sim.state.login_codes.get(request.args.get("code", ""))
        if found is None or found["used"] or sim.now() - found["issued"] > CODE_LIFETIME_S:
            return answer(api, 40029)
        found["used"] = True
        if found["userid"] in sim.config.non_members:
            return answer(api, openid=f"oOPENID{found['userid']}")
        return answer(api, userid=found["userid"])
