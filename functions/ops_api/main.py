"""ops_api: the operators' API under /ops (IAM in production, a bearer token locally)."""

import logging

import functions_framework
from flask import Request, Response
from pydantic import BaseModel, Field

from siyu import bootstrap
from siyu.adapters.http import (
    Router,
    gateway_caller,
    handle,
    json_response,
    read_json,
    read_query,
    require_bearer,
)
from siyu.config import settings
from siyu.domain.bank_customers import BankCustomerLink
from siyu.domain.calendar import OfficialYear
from siyu.domain.campaigns import CampaignSpec
from siyu.domain.channels import ChannelSpec
from siyu.domain.errors import InvalidInput, NotFound
from siyu.domain.followups import FollowupStatus
from siyu.domain.funnel import FunnelQuery, to_csv
from siyu.domain.groups import GroupSpec
from siyu.domain.ids import DocId
from siyu.domain.tag_rules import TagRuleSpec
from siyu.domain.transfers import Transfer, TransferSpec
from siyu.logging import log

logger = logging.getLogger(__name__)


def _customer(_request: Request, external_userid: str) -> Response:
    customer = bootstrap.customers().get(external_userid)
    if customer is None:
        raise NotFound(f"customer {external_userid}")
    return json_response(customer)


def _group(_request: Request, chat_id: str) -> Response:
    group = bootstrap.groups().get(chat_id)
    if group is None:
        raise NotFound(f"group {chat_id}")
    return json_response(group)


class GroupQuery(BaseModel):
    city: str = ""


def _groups(request: Request) -> Response:
    city = read_query(request, GroupQuery).city
    groups, _watermark = bootstrap.groups().changed_since(None)
    listed = sorted((g for g in groups if not city or g.city == city), key=lambda g: g.chat_id)
    return json_response([g.model_dump(mode="json") for g in listed])


def _put_group(request: Request, chat_id: str) -> Response:
    spec = read_json(request, GroupSpec)
    return json_response(bootstrap.group_registry().put(chat_id, spec))


def _dismiss_group(_request: Request, chat_id: str) -> Response:
    return json_response(bootstrap.group_registry().dismiss(chat_id))


def _bank_customer(_request: Request, bank_customer_id: str) -> Response:
    customer, _version = bootstrap.bank_customers().get(bank_customer_id)
    if customer is None:
        raise NotFound(f"bank customer {bank_customer_id}")
    return json_response(customer)


def _link_bank_customer(request: Request, bank_customer_id: str) -> Response:
    link = read_json(request, BankCustomerLink)
    return json_response(bootstrap.profiles().link(bank_customer_id, link))


def _open_tasks(_request: Request) -> Response:
    return json_response([t.model_dump(mode="json") for t in bootstrap.ops_tasks().list_open()])


class ReferralCodeRequest(BaseModel):
    bank_customer_id: DocId = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


def _referral_code(request: Request) -> Response:
    body = read_json(request, ReferralCodeRequest)
    code = bootstrap.referrals().code_for(body.bank_customer_id)
    return json_response({"bank_customer_id": body.bank_customer_id, "code": code})


def _referrer(_request: Request, bank_customer_id: str) -> Response:
    return json_response(bootstrap.referrals().view(bank_customer_id))


def _invite(_request: Request, referee: str) -> Response:
    invite, _version = bootstrap.referral_repo().get_invite(referee)
    if invite is None:
        raise NotFound(f"no referral for {referee}")
    return json_response(invite)


def _put_channel(request: Request, state: str) -> Response:
    spec = read_json(request, ChannelSpec)
    return json_response(bootstrap.channel_service().put(state, spec))


def _get_channel(_request: Request, state: str) -> Response:
    channel = bootstrap.channels().get(state)
    if channel is None:
        raise NotFound(f"channel {state}")
    return json_response(channel)


def _put_tag_rule(request: Request, rule_id: str) -> Response:
    spec = read_json(request, TagRuleSpec)
    return json_response(bootstrap.tag_rule_book().put(rule_id, spec))


def _get_tag_rule(_request: Request, rule_id: str) -> Response:
    rule = bootstrap.tag_rule_book().get(rule_id)
    if rule is None:
        raise NotFound(f"tag rule {rule_id}")
    return json_response(rule)


class FollowupQuery(BaseModel):
    staff: str = Field(min_length=1, max_length=64)
    status: FollowupStatus = FollowupStatus.OPEN
    limit: int = Field(100, ge=1, le=500)


def _followups(request: Request) -> Response:
    query = read_query(request, FollowupQuery)
    tasks = bootstrap.followups().for_staff(query.staff, query.status.value, query.limit)
    return json_response([t.model_dump(mode="json") for t in tasks])


def _put_campaign(request: Request, campaign_id: str) -> Response:
    spec = read_json(request, CampaignSpec)
    return json_response(bootstrap.campaign_book().put(campaign_id, spec))


def _get_campaign(_request: Request, campaign_id: str) -> Response:
    return json_response(bootstrap.campaign_book().get(campaign_id))


def _campaigns(_request: Request) -> Response:
    return json_response([c.model_dump(mode="json") for c in bootstrap.campaign_book().all()])


def _campaign_runs(_request: Request, campaign_id: str) -> Response:
    runs = bootstrap.campaign_book().runs(campaign_id)
    return json_response([r.model_dump(mode="json") for r in runs])


def _preview_campaign(_request: Request, campaign_id: str) -> Response:
    return json_response(bootstrap.campaign_book().preview(campaign_id))


def _put_calendar(request: Request, year: str) -> Response:
    loaded = read_json(request, OfficialYear)
    if str(loaded.year) != year:
        raise InvalidInput("year", f"the body is for {loaded.year}, the path for {year}")
    return json_response(bootstrap.calendars().put(loaded))


def _create_transfer(request: Request) -> Response:
    spec = read_json(request, TransferSpec)
    return json_response(_transfer_view(bootstrap.transfers().create(spec)), 201)


def _transfer(_request: Request, transfer_id: str) -> Response:
    return json_response(_transfer_view(bootstrap.transfers().status(transfer_id)))


def _transfer_view(transfer: Transfer) -> dict[str, object]:
    return {
        **transfer.model_dump(mode="json"),
        "final": transfer.final,
        "counts": transfer.counts(),
    }


def _funnel(request: Request) -> Response:
    query = read_query(request, FunnelQuery)
    rows = bootstrap.funnel().report(query)
    if query.format == "csv":
        return Response(to_csv(query.by, rows), mimetype="text/csv")
    window = {"from": query.from_.isoformat(), "to": query.to.isoformat(), "by": query.by}
    return json_response({**window, "rows": [r.model_dump() for r in rows]})


ROUTES = Router(
    {
        ("GET", "/ops/customers/<external_userid>"): _customer,
        ("GET", "/ops/groups"): _groups,
        ("GET", "/ops/groups/<chat_id>"): _group,
        ("PUT", "/ops/groups/<chat_id>"): _put_group,
        ("DELETE", "/ops/groups/<chat_id>"): _dismiss_group,
        ("GET", "/ops/bank-customers/<bank_customer_id>"): _bank_customer,
        ("PUT", "/ops/bank-customers/<bank_customer_id>"): _link_bank_customer,
        ("GET", "/ops/tasks"): _open_tasks,
        ("POST", "/ops/referral-codes"): _referral_code,
        ("GET", "/ops/referrers/<bank_customer_id>"): _referrer,
        ("GET", "/ops/invites/<referee>"): _invite,
        ("GET", "/ops/channels/<state>"): _get_channel,
        ("PUT", "/ops/channels/<state>"): _put_channel,
        ("GET", "/ops/tag-rules/<rule_id>"): _get_tag_rule,
        ("PUT", "/ops/tag-rules/<rule_id>"): _put_tag_rule,
        ("GET", "/ops/followups"): _followups,
        ("GET", "/ops/campaigns"): _campaigns,
        ("PUT", "/ops/campaigns/<campaign_id>"): _put_campaign,
        ("GET", "/ops/campaigns/<campaign_id>"): _get_campaign,
        ("GET", "/ops/campaigns/<campaign_id>/runs"): _campaign_runs,
        ("POST", "/ops/campaigns/<campaign_id>/preview"): _preview_campaign,
        ("PUT", "/ops/calendar/<year>"): _put_calendar,
        ("POST", "/ops/transfers"): _create_transfer,
        ("GET", "/ops/transfers/<transfer_id>"): _transfer,
        ("GET", "/ops/reports/funnel"): _funnel,
    }
)

# Fail closed: without its secrets the instance does not start.
settings().require("wecom_secret")


def _serve(request: Request) -> Response:
    s = settings()
    if s.ops_auth == "gateway":
        log(logger, logging.INFO, "ops call", caller=gateway_caller(request), path=request.path)
    else:
        require_bearer(request, s.ops_token.get_secret_value() if s.ops_token else None)
    return ROUTES.dispatch(request)


@functions_framework.http
def ops_api(request: Request) -> Response:
    return handle(request, lambda: _serve(request))
