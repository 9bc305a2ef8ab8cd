"""WeCom's web login for members (98152, 98176) as the simulator plays it, checked against
the pages: the link's parameters, the redirect with code and state, a code used once."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from siyu.adapters.wecom.client import WeComError
from siyu.domain.wecom import LoginIdentity
from tests import clients
from tests.docs_examples import example
from tests.integration.test_simulator_docs import undocumented

REDIRECT = "http://127.0.0.1:8080/ops/login/callback"


def link(**override: str) -> dict[str, str]:
    """98152's example, with this simulator's corp and app."""
    return {
        "login_type": "CorpApp",
        "appid": "ww_siyu_local_corp",
        "agentid": "1000002",
        "redirect_uri": REDIRECT,
        "state": "WWLogin",
        **override,
    }


def scan(sim, userid: str, **override: str) -> dict[str, list[str]]:
    """The member confirms on their phone; the browser goes to redirect_uri?code=&state=."""
    page = httpx.get(f"{sim.url}/wwlogin/sso/login", params=link(**override))
    assert page.status_code == 200 and "扫码" in page.text
    back = httpx.post(f"{sim.url}/wwlogin/sso/scan", data={**link(**override), "userid": userid})
    assert back.status_code == 302
    location = urlsplit(back.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)


def test_the_code_names_the_member_once(wecom_sim) -> None:
    query = scan(wecom_sim, "zhangsan")
    assert query["state"] == ["WWLogin"]
    app = clients.wecom_app()
    assert app.login_identity(query["code"][0]) == LoginIdentity(userid="zhangsan")
    with pytest.raises(WeComError) as used:
        app.login_identity(query["code"][0])
    assert used.value.errcode == 40029


def test_a_code_older_than_five_minutes_is_invalid(wecom_sim) -> None:
    query = scan(wecom_sim, "zhangsan")
    httpx.post(f"{wecom_sim.url}/_sim/config", json={"advance_s": 301})
    with pytest.raises(WeComError) as late:
        clients.wecom_app().login_identity(query["code"][0])
    assert late.value.errcode == 40029


def test_only_the_apps_token_may_ask(wecom_sim) -> None:
    """98176: the redirect's domain must be the app's trusted domain (50001 otherwise);
    the customer-contact secret's token belongs to no app."""
    query = scan(wecom_sim, "zhangsan")
    with pytest.raises(WeComError) as wrong:
        clients.wecom().login_identity(query["code"][0])
    assert wrong.value.errcode == 50001


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"login_type": "ServiceApp"}, -31040),
        ({"appid": "ww_other"}, -31027),
        ({"agentid": "1000009"}, -31028),
        ({"redirect_uri": ""}, -31035),
        ({"redirect_uri": "https://evil.example/cb"}, -31039),
    ],
)
def test_a_wrong_link_shows_the_pages_error(wecom_sim, override, code) -> None:
    page = httpx.get(f"{wecom_sim.url}/wwlogin/sso/login?{urlencode(link(**override))}")
    assert page.status_code == 400 and str(code) in page.text


def test_the_simulator_answers_the_documented_fields(wecom_sim) -> None:
    httpx.post(f"{wecom_sim.url}/_sim/config", json={"non_members": ["guest"]})
    token = clients.wecom_app()._access_token(None)  # noqa: SLF001 (raw protocol test)
    for userid, doc in (
        ("zhangsan", "98176_auth_getuserinfo"),
        ("guest", "98176_auth_getuserinfo_non_member"),
    ):
        code = scan(wecom_sim, userid)["code"][0]
        answer = httpx.get(
            f"{wecom_sim.url}/cgi-bin/auth/getuserinfo",
            params={"access_token": token, "code": code},
        ).json()
        assert answer["errcode"] == 0 and undocumented(answer, example(doc)) == []


def test_the_client_reads_the_pages_examples() -> None:
    member = LoginIdentity.model_validate(example("98176_auth_getuserinfo"))
    assert member.userid == "USERID" and not member.openid
    guest = LoginIdentity.model_validate(example("98176_auth_getuserinfo_non_member"))
    assert guest.openid == "OPENID" and not guest.userid
