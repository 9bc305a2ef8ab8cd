"""ops_api: the operators' API under /ops (IAM in production, a bearer token locally)."""

import logging
from typing import TypeVar

import functions_framework
from flask import Request, Response

from siyu.adapters.http import Route, Router, gateway_caller, handle, require_bearer
from siyu.bootstrap import root
from siyu.domain.backfills import BackfillView, RulePreview, TagRuleDraft
from siyu.domain.bank_customers import BankCustomer, BankCustomerLink
from siyu.domain.calendar import OfficialYear
from siyu.domain.campaigns import Campaign, CampaignSpec
from siyu.domain.channels import Channel, ChannelSpec
from siyu.domain.customers import Customer
from siyu.domain.errors import InvalidInput, NotFound
from siyu.domain.followups import Done, Followup, FollowupQuery, Snooze
from siyu.domain.funnel import FunnelQuery, FunnelReport, to_csv
from siyu.domain.group_codes import GroupCode, GroupCodeSpec
from siyu.domain.groups import Group, GroupQuery, GroupSpec
from siyu.domain.media import MAX_UPLOAD_BODY, MediaAsset, MediaUpload
from siyu.domain.ops_tasks import OpsTask
from siyu.domain.referrals import Invite as ReferralInvite
from siyu.domain.referrals import ReferralCode, ReferralCodeRequest, ReferrerView
from siyu.domain.tag_rules import TagRule, TagRuleSpec
from siyu.domain.transfers import TransferSpec, TransferView
from siyu.logging import log
from siyu.services.campaigns import Preview, RunCancel, RunReport

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _customer(external_userid: str) -> Customer:
    """One WeCom contact with its relations and tags."""
    return _found(root().stores().customers.get(external_userid), f"customer {external_userid}")


def _group(chat_id: str) -> Group:
    """One benefit group."""
    return _found(root().stores().groups.get(chat_id), f"group {chat_id}")


def _groups(query: GroupQuery) -> list[Group]:
    """Benefit groups by chat id, optionally of one city; a page of `limit` after `after`."""
    return root().stores().groups.listed(query.city, query.after, query.limit)


def _put_group(chat_id: str, body: GroupSpec) -> Group:
    """Register a benefit group (coordinates in wgs84, gcj02 or bd09) with a QR join way."""
    return root().group_admin().put(chat_id, body)


def _dismiss_group(chat_id: str) -> Group:
    """Mark a benefit group dismissed: no invite points to it any more."""
    return root().group_admin().dismiss(chat_id)


def _bank_customer(bank_customer_id: str) -> BankCustomer:
    """A bank customer: links, groups and invites."""
    customer, _version = root().stores().bank_customers.get(bank_customer_id)
    return _found(customer, f"bank customer {bank_customer_id}")


def _link_bank_customer(bank_customer_id: str, body: BankCustomerLink) -> BankCustomer:
    """Tie a bank customer to their WeCom identity (tags earned so far follow them), or set
    `marketing_opt_out`."""
    return root().profiles().link(bank_customer_id, body)


def _open_tasks() -> list[OpsTask]:
    """Open tasks for the operators (e.g. a group near its member limit)."""
    return root().stores().ops_tasks.list_open()


def _referral_code(body: ReferralCodeRequest) -> ReferralCode:
    """The customer's referral code: created on the first request, the same one ever after."""
    code = root().referrals().code_for(body.bank_customer_id)
    return ReferralCode(bank_customer_id=body.bank_customer_id, code=code)


def _referrer(bank_customer_id: str) -> ReferrerView:
    """A referrer's successful invites, rewards and next tier."""
    return root().referrals().view(bank_customer_id)


def _invite(referee: str) -> ReferralInvite:
    """Who invited this referee, and how far the referral went."""
    return root().referrals().invite(referee)


def _put_channel(state: str, body: ChannelSpec) -> Channel:
    """Create or replace an acquisition channel; missing corp tags are created in WeCom."""
    return root().channel_service().put(state, body)


def _get_channel(state: str) -> Channel:
    """One acquisition channel."""
    return _found(root().stores().channels.get(state), f"channel {state}")


def _channels() -> list[Channel]:
    """Every acquisition channel, by state."""
    return root().channel_service().all()


def _delete_channel(state: str) -> Channel:
    """Delete the channel's 联系我 QR code in WeCom; the channel keeps its welcome and tags."""
    return root().channel_service().delete(state)


def _add_media(body: MediaUpload) -> MediaAsset:
    """Add an image (JPG/PNG ≤ 10 MB), video (MP4 ≤ 10 MB) or file (≤ 20 MB) to the library."""
    return root().media().add(body)


def _media(asset_id: str) -> MediaAsset:
    """One library asset and the WeCom media id siyu holds for it."""
    return root().media().get(asset_id)


def _all_media() -> list[MediaAsset]:
    """Every library asset, oldest first."""
    return root().media().all()


def _put_group_code(code_id: str, body: GroupCodeSpec) -> GroupCode:
    """A group QR code for a city or area: up to 5 benefit groups with room, moved on as
    they fill up."""
    return root().group_codes().put(code_id, body)


def _group_code(code_id: str) -> GroupCode:
    """One group QR code and the groups it leads to now."""
    return root().group_codes().get(code_id)


def _group_codes() -> list[GroupCode]:
    """Every group QR code, by id."""
    return root().group_codes().all()


def _put_tag_rule(rule_id: str, body: TagRuleSpec) -> TagRule:
    """Save a tag rule (its tag is created in WeCom if missing) and start its backfill."""
    return root().tag_rules().put(rule_id, body)


def _delete_tag_rule(rule_id: str) -> BackfillView:
    """Delete a tag rule; its backfill takes the tag off the customers who held it."""
    return root().tag_rules().delete(rule_id)


def _tag_rule_backfill(rule_id: str) -> BackfillView:
    """How far the rule's latest change has reached the existing customers."""
    return root().tag_rules().backfill(rule_id)


def _preview_tag_rule(body: TagRuleDraft) -> RulePreview:
    """How many customers would gain and lose the tag if the rule were saved; writes nothing."""
    return root().tag_backfill().preview(body)


def _get_tag_rule(rule_id: str) -> TagRule:
    """One tag rule."""
    return _found(root().tag_rules().get(rule_id), f"tag rule {rule_id}")


def _followups(query: FollowupQuery) -> list[Followup]:
    """A staff member's follow-up tasks, by status."""
    return root().stores().followups.for_staff(query.staff, query.status.value, query.limit)


def _followup_done(followup_id: str, body: Done) -> Followup:
    """Mark a follow-up done (again: no change)."""
    return root().followup_book().done(followup_id, body)


def _followup_snooze(followup_id: str, body: Snooze) -> Followup:
    """Make a follow-up due again later (at most 90 days ahead)."""
    return root().followup_book().snooze(followup_id, body)


def _put_campaign(campaign_id: str, body: CampaignSpec) -> Campaign:
    """Create or replace a campaign; copy that breaks the compliance rules is refused."""
    return root().campaign_admin().put(campaign_id, body)


def _get_campaign(campaign_id: str) -> Campaign:
    """One campaign."""
    return root().campaign_admin().get(campaign_id)


def _campaigns() -> list[Campaign]:
    """Every campaign, by id."""
    return root().campaign_admin().all()


def _campaign_runs(campaign_id: str) -> list[RunReport]:
    """A campaign's latest runs with their batches' results added up."""
    return root().campaign_admin().runs(campaign_id)


def _preview_campaign(campaign_id: str) -> Preview:
    """Who the next occurrence would reach and what they would read; nothing is sent."""
    return root().campaign_admin().preview(campaign_id)


def _cancel_run(campaign_id: str, occurrence: str) -> RunCancel:
    """Pull a run's 群发 back: tasks staff have not sent are stopped (sent ones stay sent)."""
    return root().campaign_admin().cancel(campaign_id, occurrence)


def _put_calendar(year: str, body: OfficialYear) -> OfficialYear:
    """Load the State Council's holidays and make-up working days of one year."""
    if str(body.year) != year:
        raise InvalidInput("year", f"the body is for {body.year}, the path for {year}")
    return root().calendar().put(body)


def _create_transfer(body: TransferSpec) -> TransferView:
    """Transfer customers from one staff member to another (在职转接 / 离职继承)."""
    return TransferView.of(root().transfers().create(body))


def _transfer(transfer_id: str) -> TransferView:
    """A transfer as WeCom now reports it."""
    return TransferView.of(root().transfers().status(transfer_id))


def _funnel(query: FunnelQuery) -> FunnelReport | Response:
    """Acquisition funnel by channel, staff or city over whole Shanghai days (JSON or CSV)."""
    rows = root().funnel().report(query)
    if query.format == "csv":
        return Response(to_csv(query.by, rows), mimetype="text/csv")
    return FunnelReport(from_=query.from_, to=query.to, by=query.by, rows=rows)


def _found(found: T | None, what: str) -> T:
    if found is None:
        raise NotFound(what)
    return found


ROUTES = Router(
    {
        ("GET", "/ops/customers/<external_userid>"): Route(_customer, Customer),
        ("GET", "/ops/groups"): Route(_groups, list[Group], query=GroupQuery),
        ("GET", "/ops/groups/<chat_id>"): Route(_group, Group),
        ("PUT", "/ops/groups/<chat_id>"): Route(_put_group, Group, body=GroupSpec),
        ("DELETE", "/ops/groups/<chat_id>"): Route(_dismiss_group, Group),
        ("GET", "/ops/bank-customers/<bank_customer_id>"): Route(_bank_customer, BankCustomer),
        ("PUT", "/ops/bank-customers/<bank_customer_id>"): Route(
            _link_bank_customer, BankCustomer, body=BankCustomerLink
        ),
        ("GET", "/ops/tasks"): Route(_open_tasks, list[OpsTask]),
        ("POST", "/ops/referral-codes"): Route(
            _referral_code, ReferralCode, body=ReferralCodeRequest
        ),
        ("GET", "/ops/referrers/<bank_customer_id>"): Route(_referrer, ReferrerView),
        ("GET", "/ops/invites/<referee>"): Route(_invite, ReferralInvite),
        ("GET", "/ops/channels"): Route(_channels, list[Channel]),
        ("GET", "/ops/channels/<state>"): Route(_get_channel, Channel),
        ("PUT", "/ops/channels/<state>"): Route(_put_channel, Channel, body=ChannelSpec),
        ("DELETE", "/ops/channels/<state>"): Route(_delete_channel, Channel),
        ("GET", "/ops/media"): Route(_all_media, list[MediaAsset]),
        ("POST", "/ops/media"): Route(
            _add_media, MediaAsset, body=MediaUpload, status=201, max_bytes=MAX_UPLOAD_BODY
        ),
        ("GET", "/ops/media/<asset_id>"): Route(_media, MediaAsset),
        ("GET", "/ops/group-codes"): Route(_group_codes, list[GroupCode]),
        ("GET", "/ops/group-codes/<code_id>"): Route(_group_code, GroupCode),
        ("PUT", "/ops/group-codes/<code_id>"): Route(
            _put_group_code, GroupCode, body=GroupCodeSpec
        ),
        ("GET", "/ops/tag-rules/<rule_id>"): Route(_get_tag_rule, TagRule),
        ("PUT", "/ops/tag-rules/<rule_id>"): Route(_put_tag_rule, TagRule, body=TagRuleSpec),
        ("DELETE", "/ops/tag-rules/<rule_id>"): Route(_delete_tag_rule, BackfillView),
        ("GET", "/ops/tag-rules/<rule_id>/backfill"): Route(_tag_rule_backfill, BackfillView),
        ("POST", "/ops/tag-rules:preview"): Route(
            _preview_tag_rule, RulePreview, body=TagRuleDraft
        ),
        ("GET", "/ops/followups"): Route(_followups, list[Followup], query=FollowupQuery),
        ("POST", "/ops/followups/<followup_id>:done"): Route(_followup_done, Followup, body=Done),
        ("POST", "/ops/followups/<followup_id>:snooze"): Route(
            _followup_snooze, Followup, body=Snooze
        ),
        ("GET", "/ops/campaigns"): Route(_campaigns, list[Campaign]),
        ("PUT", "/ops/campaigns/<campaign_id>"): Route(_put_campaign, Campaign, body=CampaignSpec),
        ("GET", "/ops/campaigns/<campaign_id>"): Route(_get_campaign, Campaign),
        ("GET", "/ops/campaigns/<campaign_id>/runs"): Route(_campaign_runs, list[RunReport]),
        ("POST", "/ops/campaigns/<campaign_id>/preview"): Route(_preview_campaign, Preview),
        ("POST", "/ops/campaigns/<campaign_id>/runs/<occurrence>:cancel"): Route(
            _cancel_run, RunCancel
        ),
        ("PUT", "/ops/calendar/<year>"): Route(_put_calendar, OfficialYear, body=OfficialYear),
        ("POST", "/ops/transfers"): Route(
            _create_transfer, TransferView, body=TransferSpec, status=201
        ),
        ("GET", "/ops/transfers/<transfer_id>"): Route(_transfer, TransferView),
        ("GET", "/ops/reports/funnel"): Route(
            _funnel, FunnelReport, query=FunnelQuery, produces=("application/json", "text/csv")
        ),
    }
)

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret")


def _serve(request: Request) -> Response:
    s = root().settings
    if s.ops_auth == "gateway":
        log(logger, logging.INFO, "ops call", caller=gateway_caller(request), path=request.path)
    else:
        require_bearer(request, s.ops_token.get_secret_value() if s.ops_token else None)
    return ROUTES.dispatch(request, s.max_ops_request_bytes)


@functions_framework.http
def ops_api(request: Request) -> Response:
    return handle(request, lambda: _serve(request))
