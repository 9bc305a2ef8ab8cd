"""ops_api: the operators' API under /ops. Every call names its caller (a WeCom member's
session, a service account's Google ID token, or locally the shared token), is checked
against the role its route declares and the caller's branches, and every change is
appended to the audit log."""

import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import functions_framework
from flask import Request, Response, request
from pydantic import BaseModel, ConfigDict, Field

from siyu.adapters.http import Route, Router, handle, json_response, read_body
from siyu.adapters.ops_auth import (
    Caller,
    authenticate,
    clear_cookie,
    login_state,
    set_cookie,
)
from siyu.adapters.spreadsheets import SheetError, csv_table
from siyu.bootstrap import root
from siyu.domain.access import (
    Branch,
    BranchSpec,
    Grant,
    GrantSpec,
    Principal,
    Role,
    Staff,
    StaffSpec,
)
from siyu.domain.audit import AuditEntry, AuditQuery, Change
from siyu.domain.backfills import BackfillView, RulePreview, TagRuleDraft
from siyu.domain.bank_customers import BankCustomer, BankCustomerLink
from siyu.domain.calendar import OfficialYear
from siyu.domain.campaigns import Campaign, CampaignSpec
from siyu.domain.channels import Channel, ChannelSpec
from siyu.domain.compliance import CopyCheck, CopyVerdict, verdict
from siyu.domain.console import ConsoleConfig, console_config
from siyu.domain.customers import Customer
from siyu.domain.errors import Forbidden, InvalidInput, NotFound
from siyu.domain.followups import Done, Followup, FollowupQuery, Snooze
from siyu.domain.funnel import (
    FunnelQuery,
    FunnelReport,
    FunnelRow,
    FunnelTrend,
    TrendQuery,
    to_csv,
    totals,
)
from siyu.domain.group_codes import GroupCode, GroupCodeSpec
from siyu.domain.groups import Group, GroupQuery, GroupSpec
from siyu.domain.health import Health
from siyu.domain.idempotency import HEADER, fingerprint
from siyu.domain.imports import MAX_UPLOAD_BYTES, ImportJob, ImportUpload
from siyu.domain.media import MAX_UPLOAD_BODY, MediaAsset, MediaUpload
from siyu.domain.model import Model
from siyu.domain.ops_tasks import OpsTask
from siyu.domain.personal_data import EraseRequest, PersonExport, PersonRef, Receipt
from siyu.domain.referrals import Invite as ReferralInvite
from siyu.domain.referrals import ReferralCode, ReferralCodeRequest, ReferrerView
from siyu.domain.sessions import SESSION_COOKIE, STATE_COOKIE, new_state
from siyu.domain.tag_rules import TagRule, TagRuleSpec
from siyu.domain.transfers import TransferSpec, TransferView
from siyu.services.access import Scope
from siyu.services.campaigns import Preview, RunCancel, RunReport
from siyu.services.customer_timeline import CustomerPage, TimelineQuery

logger = logging.getLogger(__name__)
T = TypeVar("T")
RECENT_TRANSFERS = 50
LOGIN_WINDOW = timedelta(minutes=10)  # WeCom's code lives 5 minutes (98176); the page more


class LoginQuery(Model):
    """GET /ops/login?next=/ops/me: where to land after signing in (a path of this site)."""

    model_config = ConfigDict(extra="forbid")

    # A path of this site: "//host" would send the member elsewhere after signing in.
    next: str = Field(
        "/ops/me", max_length=200, pattern=r"^/([A-Za-z0-9_.:?=&%-][A-Za-z0-9/_.:?=&%-]*)?$"
    )


class LoginCallback(Model):
    """WeCom's redirect after the scan (98152): redirect_uri?code=CODE&state=STATE."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=512)
    state: str = Field(min_length=1, max_length=128)


class SignedOut(Model):
    signed_out: bool


class Redirect(Model):
    """A 302/303 to WeCom's login page or back into siyu (the Location header)."""


def _customer(external_userid: str) -> Customer:
    """One WeCom contact with its relations and tags (in scope through its staff)."""
    customer = _found(root().stores().customers.get(external_userid), f"customer {external_userid}")
    _require_staff([r.staff_userid for r in customer.relations])
    return customer


def _customer_timeline(query: TimelineQuery) -> CustomerPage:
    """One customer by WeCom id or bank customer number: relations, tags, stage, invites,
    follow-ups and the 群发 sent them, as a timeline."""
    page = root().customer_timeline().find(query.external_userid, query.bank_customer_id)
    _require_customer(page.external_userid)
    return page


def _group(chat_id: str) -> Group:
    """One benefit group."""
    group = _found(root().stores().groups.get(chat_id), f"group {chat_id}")
    _scope().require(group.branch)
    return group


def _groups(query: GroupQuery) -> list[Group]:
    """Benefit groups in the caller's branches by chat id, optionally of one city; a page of
    `limit` after `after`."""
    found = root().stores().groups.listed(query.city, query.after, query.limit)
    return [g for g in found if _scope().allows(g.branch)]


def _group_before(chat_id: str) -> Group | None:
    return root().stores().groups.get(chat_id)


def _put_group(chat_id: str, body: GroupSpec) -> Group:
    """Register a benefit group (coordinates in wgs84, gcj02 or bd09) with a QR join way."""
    current = root().stores().groups.get(chat_id)
    if current is not None:
        _scope().require(current.branch)
    _scope().assign(body.branch)
    return root().group_admin().put(chat_id, body)


def _dismiss_group(chat_id: str) -> Group:
    """Mark a benefit group dismissed: no invite points to it any more."""
    _group(chat_id)
    return root().group_admin().dismiss(chat_id)


def _bank_customer(bank_customer_id: str) -> BankCustomer:
    """A bank customer: links, groups and invites."""
    customer, _version = root().stores().bank_customers.get(bank_customer_id)
    found = _found(customer, f"bank customer {bank_customer_id}")
    _require_customer(found.external_userid)
    return found


def _bank_customer_before(bank_customer_id: str) -> BankCustomer | None:
    return root().stores().bank_customers.get(bank_customer_id)[0]


def _link_bank_customer(bank_customer_id: str, body: BankCustomerLink) -> BankCustomer:
    """Tie a bank customer to their WeCom identity (tags earned so far follow them), or set
    `marketing_opt_out`."""
    current = _bank_customer_before(bank_customer_id)
    _require_customer(current.external_userid if current else "")
    _require_customer(body.external_userid)
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


def _channel_before(state: str) -> Channel | None:
    return root().stores().channels.get(state)


def _put_channel(state: str, body: ChannelSpec) -> Channel:
    """Create or replace an acquisition channel; missing corp tags are created in WeCom."""
    current = root().stores().channels.get(state)
    if current is not None:
        _scope().require(current.branch)
    _scope().assign(body.branch)
    return root().channel_service().put(state, body)


def _get_channel(state: str) -> Channel:
    """One acquisition channel."""
    channel = _found(root().stores().channels.get(state), f"channel {state}")
    _scope().require(channel.branch)
    return channel


def _channels() -> list[Channel]:
    """Every acquisition channel in the caller's branches, by state."""
    return [c for c in root().channel_service().all() if _scope().allows(c.branch)]


def _delete_channel(state: str) -> Channel:
    """Delete the channel's 联系我 QR code in WeCom; the channel keeps its welcome and tags."""
    _get_channel(state)
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


def _group_code_before(code_id: str) -> GroupCode | None:
    return _or_none(lambda: root().group_codes().get(code_id))


def _put_group_code(code_id: str, body: GroupCodeSpec) -> GroupCode:
    """A group QR code for a city or area: up to 5 benefit groups with room, moved on as
    they fill up (codes draw on every branch's groups: head-office scope)."""
    _scope().require("")
    return root().group_codes().put(code_id, body)


def _group_code(code_id: str) -> GroupCode:
    """One group QR code and the groups it leads to now."""
    return root().group_codes().get(code_id)


def _group_codes() -> list[GroupCode]:
    """Every group QR code, by id."""
    return root().group_codes().all()


def _tag_rule_before(rule_id: str) -> TagRule | None:
    return root().tag_rules().get(rule_id)


def _put_tag_rule(rule_id: str, body: TagRuleSpec) -> TagRule:
    """Save a tag rule (its tag is created in WeCom if missing) and start its backfill; rules
    tag every branch's customers (head-office scope)."""
    _scope().require("")
    return root().tag_rules().put(rule_id, body)


def _delete_tag_rule(rule_id: str) -> BackfillView:
    """Delete a tag rule; its backfill takes the tag off the customers who held it."""
    _scope().require("")
    return root().tag_rules().delete(rule_id)


def _tag_rules() -> list[TagRule]:
    """Every tag rule, by id."""
    return sorted(root().stores().tag_rules.all(), key=lambda r: r.id)


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
    _require_staff([query.staff])
    return root().stores().followups.for_staff(query.staff, query.status.value, query.limit)


def _followup_before(followup_id: str) -> Followup | None:
    return root().stores().followups.get(followup_id)


def _in_scope_followup(followup_id: str) -> None:
    found = _found(root().stores().followups.get(followup_id), f"follow-up {followup_id}")
    _require_staff([found.staff_userid])


def _followup_done(followup_id: str, body: Done) -> Followup:
    """Mark a follow-up done (again: no change)."""
    _in_scope_followup(followup_id)
    return root().followup_book().done(followup_id, body)


def _followup_snooze(followup_id: str, body: Snooze) -> Followup:
    """Make a follow-up due again later (at most 90 days ahead)."""
    _in_scope_followup(followup_id)
    return root().followup_book().snooze(followup_id, body)


def _campaign_before(campaign_id: str) -> Campaign | None:
    return _or_none(lambda: root().campaign_admin().get(campaign_id))


def _put_campaign(campaign_id: str, body: CampaignSpec) -> Campaign:
    """Create or replace a campaign; copy that breaks the compliance rules is refused."""
    current = _campaign_before(campaign_id)
    if current is not None:
        _scope().require(current.branch)
    _scope().assign(body.branch)
    return root().campaign_admin().put(campaign_id, body)


def _get_campaign(campaign_id: str) -> Campaign:
    """One campaign."""
    campaign = root().campaign_admin().get(campaign_id)
    _scope().require(campaign.branch)
    return campaign


def _campaigns() -> list[Campaign]:
    """Every campaign in the caller's branches, by id."""
    return [c for c in root().campaign_admin().all() if _scope().allows(c.branch)]


def _check_copy(body: CopyCheck) -> CopyVerdict:
    """Copy checked for banned claims and WeCom's size as it is typed; writes nothing."""
    return verdict(body, root().settings.campaign_banned_words)


def _campaign_runs(campaign_id: str) -> list[RunReport]:
    """A campaign's latest runs with their batches' results added up."""
    _get_campaign(campaign_id)
    return root().campaign_admin().runs(campaign_id)


def _preview_campaign(campaign_id: str) -> Preview:
    """Who the next occurrence would reach and what they would read; nothing is sent."""
    _get_campaign(campaign_id)
    return root().campaign_admin().preview(campaign_id)


def _cancel_run(campaign_id: str, occurrence: str) -> RunCancel:
    """Pull a run's 群发 back: tasks staff have not sent are stopped (sent ones stay sent)."""
    _get_campaign(campaign_id)
    return root().campaign_admin().cancel(campaign_id, occurrence)


def _calendar_before(year: str) -> OfficialYear | None:
    return next((y for y in root().stores().calendar_years.all() if str(y.year) == year), None)


def _calendar() -> list[OfficialYear]:
    """The official years loaded, by year."""
    return sorted(root().stores().calendar_years.all(), key=lambda y: y.year)


def _put_calendar(year: str, body: OfficialYear) -> OfficialYear:
    """Load the State Council's holidays and make-up working days of one year."""
    _scope().require("")
    if str(body.year) != year:
        raise InvalidInput("year", f"the body is for {body.year}, the path for {year}")
    return root().calendar().put(body)


def _create_transfer(body: TransferSpec) -> TransferView:
    """Transfer customers from one staff member to another (在职转接 / 离职继承)."""
    _require_staff([body.from_userid], every=True)
    _require_staff([body.to_userid], every=True)
    return TransferView.of(root().transfers().create(body))


def _transfers() -> list[TransferView]:
    """The latest transfers whose members are both in the caller's branches, newest first."""
    found = [TransferView.of(t) for t in root().stores().transfers.recent(RECENT_TRANSFERS)]
    if _scope().principal.unrestricted:
        return found
    branches = (
        root().access().staff_branches([u for t in found for u in (t.from_userid, t.to_userid)])
    )
    return [
        t
        for t in found
        if all(_scope().allows(branches.get(u, "")) for u in (t.from_userid, t.to_userid))
    ]


def _transfer(transfer_id: str) -> TransferView:
    """A transfer as WeCom now reports it."""
    view = TransferView.of(root().transfers().status(transfer_id))
    _require_staff([view.from_userid], every=True)
    return view


def _funnel(query: FunnelQuery) -> FunnelReport | Response:
    """Acquisition funnel by channel, staff, city or branch over whole Shanghai days (JSON or
    CSV); a branch member sees the rows of their branches and their total."""
    rows = _funnel_in_scope(query.by, root().funnel().report(query)[:-1])
    rows = [*rows, totals(rows)]
    if query.format == "csv":
        return Response(to_csv(query.by, rows), mimetype="text/csv")
    return FunnelReport(from_=query.from_, to=query.to, by=query.by, rows=rows)


def _funnel_trend(query: TrendQuery) -> FunnelTrend:
    """Each milestone per Shanghai day over at most 92 days; a branch member's own only."""
    scope = _scope()
    if scope.principal.unrestricted:
        return root().funnel().trend(query)
    mine = [b for b in scope.tree.ids() if scope.allows(b)]  # the tree the scope read
    return root().funnel().trend(query, mine)


def _health() -> Health:
    """Dead letters waiting per topic, each scheduled job's last tick, open ops tasks."""
    return root().health().report()


def _put_import(job_id: str, body: ImportUpload) -> ImportJob:
    """Import a CSV of groups or bank customers: every row validated, the valid ones
    written; the same file under the same id resumes (bank-wide: head-office scope)."""
    _scope().require("")
    try:
        raw = base64.b64decode(body.content_base64, validate=True)
    except binascii.Error:
        raise InvalidInput("content_base64", "not base64") from None
    try:
        table = csv_table(body.filename, raw)
    except SheetError as exc:
        raise InvalidInput("content_base64", str(exc)) from None
    actor = _caller().principal.id
    return root().import_jobs().run(job_id, body.kind, body.filename, raw, table, actor)


def _import_job(job_id: str) -> ImportJob:
    """How far an import has come: rows written, and each refused row with its reason."""
    return root().import_jobs().get(job_id)


def _funnel_in_scope(by: str, rows: list[FunnelRow]) -> list[FunnelRow]:
    scope = _scope()
    if scope.principal.unrestricted:
        return rows
    if by == "city":
        scope.require("")  # a city's counts span branches
    if by == "channel":
        branch_of = {c.name: c.branch for c in root().channel_service().all()}
    elif by == "staff":
        branch_of = root().access().staff_branches([r.value for r in rows])
    else:
        branch_of = {r.value: r.value for r in rows}
    return [r for r in rows if scope.allows(branch_of.get(r.value, ""))]


# -- identity: sign-in, grants, branches, staff, audit --------------------------------------


def _login(query: LoginQuery) -> Response:
    """Sign in with WeCom: to WeCom's login page (98152), back at /ops/login/callback."""
    state = new_state()
    response = Response(status=302, headers={"Location": root().access().login_url(state)})
    set_cookie(response, root().settings, STATE_COOKIE, f"{state}|{query.next}", LOGIN_WINDOW)
    return response


def _login_callback(query: LoginCallback) -> Response:
    """WeCom's redirect with a one-time code: the member's session cookie, then `next`."""
    held = login_state(request, root().settings)
    state, _, next_path = (held or "").partition("|")
    if not held or not hmac.compare_digest(state.encode(), query.state.encode()):
        raise Forbidden("the login state does not match this browser's (start at /ops/login)")
    session = root().access().sign_in(query.code)
    principal = root().access().principal(session.userid)
    signed_in = Change(
        actor=session.userid,
        actor_kind="member",
        route="GET /ops/login/callback",
        target=f"userid={session.userid}",
        status=303,
        after={"role": principal.role, "expire_at": session.expire_at},
    )
    root().audit_trail().record(signed_in)
    response = Response(status=303, headers={"Location": next_path or "/ops/me"})
    lifetime = session.expire_at - session.created_at
    set_cookie(response, root().settings, SESSION_COOKIE, session.id, lifetime)
    clear_cookie(response, STATE_COOKIE)
    return response


def _logout() -> Response:
    """End this browser's session (a service identity has none)."""
    caller = _caller()
    if caller.session_id:
        root().access().sign_out(caller.session_id)
    response = json_response(SignedOut(signed_out=bool(caller.session_id)))
    clear_cookie(response, SESSION_COOKIE)
    return response


def _console_config() -> ConsoleConfig:
    """The lists the console's forms offer (stages, segments, holidays, banned claims)."""
    s = root().settings
    return console_config(s.group_join_limit, s.campaign_banned_words)


def _me() -> Principal:
    """Who is calling, with which role over which branches."""
    return _caller().principal


def _grant_before(userid: str) -> Grant | None:
    return root().access().grant(userid)


def _put_member(userid: str, body: GrantSpec) -> Grant:
    """Grant a WeCom member (or a service account, by email) a role over branches."""
    return root().access().put_grant(userid, body, _caller().principal)


def _member(userid: str) -> Grant:
    """One member's grant."""
    return _found(root().access().grant(userid), f"grant of {userid}")


def _members() -> list[Grant]:
    """Every grant, by id."""
    return root().access().grants()


def _branch_before(branch_id: str) -> Branch | None:
    return next((b for b in root().access().branches() if b.id == branch_id), None)


def _put_branch(branch_id: str, body: BranchSpec) -> Branch:
    """Add or rename a 分行 (no parent) or a 支行 under one."""
    _scope().require("")
    return root().access().put_branch(branch_id, body)


def _branches() -> list[Branch]:
    """The branch tree, by id."""
    return root().access().branches()


def _staff_before(userid: str) -> Staff | None:
    return root().access().staff_member(userid)


def _put_staff(userid: str, body: StaffSpec) -> Staff:
    """Say which branch a customer manager works for."""
    return root().access().put_staff(userid, body, _scope())


def _staff() -> list[Staff]:
    """The customer managers of the caller's branches."""
    return root().access().staff(_scope())


def _export_person(body: PersonRef) -> PersonExport:
    """Everything siyu holds about one person, as one JSON document (PIPL art. 45)."""
    found = root().people().export(body)
    caller = _caller()
    target = ",".join(f"{k}={v}" for k, v in body.model_dump(exclude_none=True).items())
    _record(caller, "POST /ops/people:export", target, 200, after={"documents": found.documents})
    return found


def _erase_person(body: EraseRequest) -> Receipt:
    """Erase one person everywhere (PIPL art. 47); the receipt names no one."""
    return (
        root().people().erase(body, body.reason, _caller().principal.id, "POST /ops/people:erase")
    )


def _audit(query: AuditQuery) -> list[AuditEntry]:
    """The audit log, newest first: who changed what, before → after."""
    return root().audit_trail().query(query)


# -- the caller and their scope --------------------------------------------------------------


@dataclass
class _Call:
    caller: Caller
    scope: Scope | None = None


_current: ContextVar[_Call] = ContextVar("ops_call")


def _caller() -> Caller:
    return _current.get().caller


def _scope() -> Scope:
    """The caller's scope, the branch tree read once per request."""
    call = _current.get()
    if call.scope is None:
        call.scope = root().access().scope(call.caller.principal)
    return call.scope


def _require_staff(userids: list[str], every: bool = False) -> None:
    """Staff-owned things are in scope through their staff's branch: any of them (a customer
    with several managers), or each of them (both ends of a transfer)."""
    scope = _scope()
    if scope.principal.unrestricted:
        return
    branches = list(root().access().staff_branches(userids).values()) or [""]
    allowed = [scope.allows(b) for b in branches]
    if not (all(allowed) if every else any(allowed)):
        scope.require(next(b for b, ok in zip(branches, allowed, strict=True) if not ok))


def _require_customer(external_userid: str) -> None:
    if not external_userid:
        _scope().require("")  # not yet linked: head-office scope
        return
    customer = root().stores().customers.get(external_userid)
    _require_staff([r.staff_userid for r in customer.relations] if customer else [])


def _or_none(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except NotFound:
        return None


def _found(found: T | None, what: str) -> T:
    if found is None:
        raise NotFound(what)
    return found


VIEW, OPERATE, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN

ROUTES = Router(
    {
        ("GET", "/ops/login"): Route(_login, Redirect, query=LoginQuery, public=True, status=302),
        ("GET", "/ops/login/callback"): Route(
            _login_callback, Redirect, query=LoginCallback, public=True, status=303
        ),
        ("POST", "/ops/logout"): Route(_logout, SignedOut, role=VIEW),
        ("GET", "/ops/me"): Route(_me, Principal, role=VIEW),
        ("GET", "/ops/console-config"): Route(_console_config, ConsoleConfig, role=VIEW),
        ("GET", "/ops/members"): Route(_members, list[Grant], role=ADMIN),
        ("GET", "/ops/members/<userid>"): Route(_member, Grant, role=ADMIN),
        ("PUT", "/ops/members/<userid>"): Route(
            _put_member, Grant, body=GrantSpec, role=ADMIN, before=_grant_before
        ),
        ("GET", "/ops/branches"): Route(_branches, list[Branch], role=VIEW),
        ("PUT", "/ops/branches/<branch_id>"): Route(
            _put_branch, Branch, body=BranchSpec, role=ADMIN, before=_branch_before
        ),
        ("GET", "/ops/staff"): Route(_staff, list[Staff], role=VIEW),
        ("PUT", "/ops/staff/<userid>"): Route(
            _put_staff, Staff, body=StaffSpec, role=ADMIN, before=_staff_before
        ),
        ("GET", "/ops/audit"): Route(_audit, list[AuditEntry], query=AuditQuery, role=ADMIN),
        # Not audited by the router: the export is recorded without what it held, the
        # erasure by its receipt.
        ("POST", "/ops/people:export"): Route(
            _export_person, PersonExport, body=PersonRef, role=ADMIN, changes=False
        ),
        ("POST", "/ops/people:erase"): Route(
            _erase_person, Receipt, body=EraseRequest, role=ADMIN, changes=False
        ),
        ("GET", "/ops/customers/<external_userid>"): Route(_customer, Customer, role=VIEW),
        ("GET", "/ops/customer-timeline"): Route(
            _customer_timeline, CustomerPage, query=TimelineQuery, role=VIEW
        ),
        ("GET", "/ops/groups"): Route(_groups, list[Group], query=GroupQuery, role=VIEW),
        ("GET", "/ops/groups/<chat_id>"): Route(_group, Group, role=VIEW),
        ("PUT", "/ops/groups/<chat_id>"): Route(
            _put_group, Group, body=GroupSpec, role=OPERATE, before=_group_before
        ),
        ("DELETE", "/ops/groups/<chat_id>"): Route(
            _dismiss_group, Group, role=OPERATE, before=_group_before
        ),
        ("GET", "/ops/bank-customers/<bank_customer_id>"): Route(
            _bank_customer, BankCustomer, role=VIEW
        ),
        ("PUT", "/ops/bank-customers/<bank_customer_id>"): Route(
            _link_bank_customer,
            BankCustomer,
            body=BankCustomerLink,
            role=OPERATE,
            before=_bank_customer_before,
        ),
        ("GET", "/ops/tasks"): Route(_open_tasks, list[OpsTask], role=VIEW),
        ("POST", "/ops/referral-codes"): Route(
            _referral_code, ReferralCode, body=ReferralCodeRequest, role=OPERATE
        ),
        ("GET", "/ops/referrers/<bank_customer_id>"): Route(_referrer, ReferrerView, role=VIEW),
        ("GET", "/ops/invites/<referee>"): Route(_invite, ReferralInvite, role=VIEW),
        ("GET", "/ops/channels"): Route(_channels, list[Channel], role=VIEW),
        ("GET", "/ops/channels/<state>"): Route(_get_channel, Channel, role=VIEW),
        ("PUT", "/ops/channels/<state>"): Route(
            _put_channel, Channel, body=ChannelSpec, role=OPERATE, before=_channel_before
        ),
        ("DELETE", "/ops/channels/<state>"): Route(
            _delete_channel, Channel, role=OPERATE, before=_channel_before
        ),
        ("GET", "/ops/media"): Route(_all_media, list[MediaAsset], role=VIEW),
        ("POST", "/ops/media"): Route(
            _add_media,
            MediaAsset,
            body=MediaUpload,
            status=201,
            max_bytes=MAX_UPLOAD_BODY,
            role=OPERATE,
        ),
        ("GET", "/ops/media/<asset_id>"): Route(_media, MediaAsset, role=VIEW),
        ("GET", "/ops/group-codes"): Route(_group_codes, list[GroupCode], role=VIEW),
        ("GET", "/ops/group-codes/<code_id>"): Route(_group_code, GroupCode, role=VIEW),
        ("PUT", "/ops/group-codes/<code_id>"): Route(
            _put_group_code, GroupCode, body=GroupCodeSpec, role=OPERATE, before=_group_code_before
        ),
        ("GET", "/ops/tag-rules"): Route(_tag_rules, list[TagRule], role=VIEW),
        ("GET", "/ops/tag-rules/<rule_id>"): Route(_get_tag_rule, TagRule, role=VIEW),
        ("PUT", "/ops/tag-rules/<rule_id>"): Route(
            _put_tag_rule, TagRule, body=TagRuleSpec, role=OPERATE, before=_tag_rule_before
        ),
        ("DELETE", "/ops/tag-rules/<rule_id>"): Route(
            _delete_tag_rule, BackfillView, role=OPERATE, before=_tag_rule_before
        ),
        ("GET", "/ops/tag-rules/<rule_id>/backfill"): Route(
            _tag_rule_backfill, BackfillView, role=VIEW
        ),
        ("POST", "/ops/tag-rules:preview"): Route(
            _preview_tag_rule, RulePreview, body=TagRuleDraft, role=OPERATE
        ),
        ("GET", "/ops/followups"): Route(
            _followups, list[Followup], query=FollowupQuery, role=VIEW
        ),
        ("POST", "/ops/followups/<followup_id>:done"): Route(
            _followup_done, Followup, body=Done, role=OPERATE, before=_followup_before
        ),
        ("POST", "/ops/followups/<followup_id>:snooze"): Route(
            _followup_snooze, Followup, body=Snooze, role=OPERATE, before=_followup_before
        ),
        ("GET", "/ops/campaigns"): Route(_campaigns, list[Campaign], role=VIEW),
        ("POST", "/ops/campaigns:check"): Route(
            _check_copy, CopyVerdict, body=CopyCheck, role=VIEW, changes=False
        ),
        ("PUT", "/ops/campaigns/<campaign_id>"): Route(
            _put_campaign, Campaign, body=CampaignSpec, role=OPERATE, before=_campaign_before
        ),
        ("GET", "/ops/campaigns/<campaign_id>"): Route(_get_campaign, Campaign, role=VIEW),
        ("GET", "/ops/campaigns/<campaign_id>/runs"): Route(
            _campaign_runs, list[RunReport], role=VIEW
        ),
        ("POST", "/ops/campaigns/<campaign_id>/preview"): Route(
            _preview_campaign, Preview, role=OPERATE
        ),
        ("POST", "/ops/campaigns/<campaign_id>/runs/<occurrence>:cancel"): Route(
            _cancel_run, RunCancel, role=OPERATE
        ),
        ("GET", "/ops/calendar"): Route(_calendar, list[OfficialYear], role=VIEW),
        ("PUT", "/ops/calendar/<year>"): Route(
            _put_calendar, OfficialYear, body=OfficialYear, role=ADMIN, before=_calendar_before
        ),
        ("POST", "/ops/transfers"): Route(
            _create_transfer, TransferView, body=TransferSpec, status=201, role=ADMIN
        ),
        ("GET", "/ops/transfers"): Route(_transfers, list[TransferView], role=VIEW),
        ("GET", "/ops/transfers/<transfer_id>"): Route(_transfer, TransferView, role=VIEW),
        ("PUT", "/ops/imports/<job_id>"): Route(
            _put_import,
            ImportJob,
            body=ImportUpload,
            max_bytes=MAX_UPLOAD_BYTES * 4 // 3 + 4096,
            role=OPERATE,
        ),
        ("GET", "/ops/imports/<job_id>"): Route(_import_job, ImportJob, role=VIEW),
        ("GET", "/ops/reports/funnel/trend"): Route(
            _funnel_trend, FunnelTrend, query=TrendQuery, role=VIEW
        ),
        ("GET", "/ops/health"): Route(_health, Health, role=VIEW),
        ("GET", "/ops/reports/funnel"): Route(
            _funnel,
            FunnelReport,
            query=FunnelQuery,
            produces=("application/json", "text/csv"),
            role=VIEW,
        ),
    }
)

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret")
if root().settings.ops_auth == "google":
    root().settings.require("session_secret")


def _serve(request: Request) -> Response:
    """Authenticate, authorise by the route's role, run; a change is audited and may carry
    an Idempotency-Key."""
    key, route, args = ROUTES.match(request)
    raw = read_body(request, route.max_bytes or root().settings.max_ops_request_bytes)
    if route.public:
        return ROUTES.invoke(request, route, args, raw)
    caller = authenticate(request, root().settings, root().access())
    token = _current.set(_Call(caller))
    try:
        if request.method == "GET":
            _authorise(key, route, caller)
            return ROUTES.invoke(request, route, args, raw)
        if not route.changes:
            _authorise_audited(key, route, caller)
            return ROUTES.invoke(request, route, args, raw)
        return _change(request, key, route, args, raw, caller)
    finally:
        _current.reset(token)


def _authorise(key: str, route: Route, caller: Caller) -> None:
    if route.role is None:  # fail closed: the route table test keeps this from happening
        raise Forbidden(f"{key} declares no role")
    caller.principal.require(route.role)


def _authorise_audited(key: str, route: Route, caller: Caller) -> None:
    """A POST the router does not audit is still recorded when refused (who tried what)."""
    try:
        _authorise(key, route, caller)
    except Forbidden as exc:
        _record(caller, key, "", 403, after={"refused": str(exc)[:300]})
        raise


def _change(
    request: Request, key: str, route: Route, args: dict[str, Any], raw: bytes, caller: Caller
) -> Response:
    """Run a change once per Idempotency-Key and audit it; a change refused for want of
    role or branch is audited too (who tried what)."""
    target = ",".join(f"{k}={v}" for k, v in args.items())
    answered: list[Response] = []

    def run() -> tuple[int, str]:
        before = route.before(**args) if route.before else None
        response = ROUTES.invoke(request, route, args, raw)
        after = response.get_json(silent=True) if response.is_json else None
        _record(caller, key, target or _created_id(after), response.status_code, before, after)
        answered.append(response)
        return response.status_code, response.get_data(as_text=True)

    idempotency_key = request.headers.get(HEADER)
    try:
        _authorise(key, route, caller)
        if idempotency_key is None:
            run()
            return answered[0]
        calls = root().idempotent_calls()
        status, body = calls.run(
            caller.principal.id, idempotency_key, fingerprint(key, target, raw), run
        )
    except Forbidden as exc:
        _record(caller, key, target, 403, after={"refused": str(exc)[:300]})
        raise
    return answered[0] if answered else Response(body, status, mimetype="application/json")


def _record(
    caller: Caller, key: str, target: str, status: int, before: Any = None, after: Any = None
) -> None:
    before = before.model_dump(mode="json") if isinstance(before, BaseModel) else before
    change = Change(
        actor=caller.principal.id,
        actor_kind=caller.kind,
        route=key,
        target=target,
        status=status,
        before=before,
        after=after,
    )
    root().audit_trail().record(change)


def _created_id(after: Any) -> str:
    return f"id={after['id']}" if isinstance(after, dict) and after.get("id") else ""


@functions_framework.http
def ops_api(request: Request) -> Response:
    return handle(request, lambda: _serve(request))
