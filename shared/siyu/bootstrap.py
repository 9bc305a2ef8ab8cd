"""The one place that builds clients and services: lazily, once per instance."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from google.cloud import firestore

from siyu import logging as siyu_logging
from siyu.adapters.calendar_package import package_years
from siyu.adapters.clock import SystemClock
from siyu.adapters.firestore import campaigns as campaign_store
from siyu.adapters.firestore import store
from siyu.adapters.firestore.deliveries import DeliveryAttempts
from siyu.adapters.firestore.funnel import FunnelStore
from siyu.adapters.firestore.inbox import InboxRepo
from siyu.adapters.firestore.referrals import ReferralRepo
from siyu.adapters.pubsub import Publisher
from siyu.adapters.wecom.client import WeComClient
from siyu.adapters.wecom.codec import CallbackCodec
from siyu.adapters.wecom.crypto import WeComCrypto
from siyu.config import settings
from siyu.domain.partner_auth import PartnerAuth, parse_keys
from siyu.services.biz_events import BizEventRouter
from siyu.services.campaigns import (
    BatchSender,
    CalendarBook,
    CampaignBook,
    CampaignPlanner,
    ResultTracker,
)
from siyu.services.card_alerts import CardAlertService
from siyu.services.channels import ChannelService
from siyu.services.customer_profile import ProfileService
from siyu.services.followups import FollowupNotifier
from siyu.services.funnel import FunnelBook
from siyu.services.group_directory import GroupDirectory
from siyu.services.groups import GroupRegistry
from siyu.services.intake import CallbackIntake, InboxSweeper
from siyu.services.referrals import ReferralService
from siyu.services.tag_catalog import TagCatalog
from siyu.services.tag_rules import TagRuleBook
from siyu.services.tag_sync import TagSyncService
from siyu.services.transfers import TransferService
from siyu.services.wecom_events import WeComEventProcessor
from siyu.services.welcome import WelcomeSender

clock = SystemClock()
siyu_logging.configure()


@cache
def db() -> firestore.Client:
    return firestore.Client(project=settings().project)


@cache
def wecom() -> WeComClient:
    s = settings()
    return WeComClient(
        s.wecom_api_base,
        s.wecom_corp_id,
        s.secret("wecom_secret"),
        timeout_s=s.wecom_timeout_s,
        max_attempts=s.wecom_max_attempts,
        mark_tag_per_min=s.mark_tag_per_min,
    )


@cache
def wecom_app() -> WeComClient:
    """The self-built app's client: its own secret and token, for application messages."""
    s = settings()
    return WeComClient(
        s.wecom_api_base,
        s.wecom_corp_id,
        s.secret("wecom_agent_secret"),
        timeout_s=s.wecom_timeout_s,
        max_attempts=s.wecom_max_attempts,
        agent_id=s.wecom_agent_id,
    )


@cache
def delivery_attempts() -> DeliveryAttempts:
    return DeliveryAttempts(db(), clock, settings().dedupe_ttl_days)


@cache
def publisher() -> Publisher:
    s = settings()
    return Publisher(s.project, s.topic_wecom_events, s.dead_letter_topic)


@cache
def topic(name: str) -> Publisher:
    """A publisher for one topic; its poison messages go to `<name>-dlq`."""
    return Publisher(settings().project, name, f"{name}-dlq")


@cache
def referral_repo() -> ReferralRepo:
    return ReferralRepo(db(), clock)


@cache
def referrals() -> ReferralService:
    s = settings()
    return ReferralService(
        referral_repo(),
        topic(s.topic_reward_granted),
        clock,
        tiers=s.referral_tiers,
        daily_limit=s.referral_daily_limit,
        referees_per_hash=s.referral_referees_per_hash,
        stale_after=timedelta(seconds=s.referral_stale_s),
    )


@cache
def customers() -> store.CustomerRepo:
    return store.CustomerRepo(db(), clock, settings().dedupe_ttl_days)


@cache
def channels() -> store.ChannelRepo:
    return store.ChannelRepo(db())


@cache
def tags() -> store.TagRepo:
    return store.TagRepo(db())


@cache
def followups() -> store.FollowupRepo:
    return store.FollowupRepo(db())


@cache
def welcome_sender() -> WelcomeSender:
    s = settings()
    return WelcomeSender(
        wecom(),
        store.WelcomeLedger(db(), clock),
        channels(),
        clock,
        default_text=s.default_welcome_text,
        window_s=s.welcome_window_s,
        # A callback silent this long after claiming has died; the worker may take over.
        stale_after_s=s.welcome_budget_s + 2.0,
    )


@cache
def intake() -> CallbackIntake:
    s = settings()
    crypto = WeComCrypto(s.secret("wecom_token"), s.secret("wecom_aes_key"), s.wecom_corp_id)
    return CallbackIntake(
        CallbackCodec(crypto),
        inbox(),
        publisher(),
        welcome_sender(),
        clock,
        replay_window_s=s.wecom_replay_window_s,
        welcome_budget_s=s.welcome_budget_s,
    )


@cache
def inbox() -> InboxRepo:
    return InboxRepo(db(), clock, settings().dedupe_ttl_days)


@cache
def inbox_sweeper() -> InboxSweeper:
    return InboxSweeper(inbox(), publisher(), clock, settings().inbox_sweep_min_age_s)


@cache
def groups() -> store.GroupRepo:
    return store.GroupRepo(db(), clock, settings().dedupe_ttl_days)


@cache
def processor() -> WeComEventProcessor:
    return WeComEventProcessor(
        wecom(),
        customers(),
        groups(),
        tags(),
        channels(),
        followups(),
        welcome_sender(),
        bank_customers(),
        clock,
        settings().followup_cadence,
        funnel(),
    )


@cache
def tag_catalog() -> TagCatalog:
    return TagCatalog(wecom(), tags(), clock, settings().tag_catalog_refresh_s)


@cache
def channel_service() -> ChannelService:
    return ChannelService(tag_catalog(), channels())


@cache
def group_registry() -> GroupRegistry:
    return GroupRegistry(wecom(), groups(), clock)


@cache
def bank_customers() -> store.BankCustomerRepo:
    return store.BankCustomerRepo(db(), clock, settings().dedupe_ttl_days)


@cache
def ops_tasks() -> store.OpsTaskRepo:
    return store.OpsTaskRepo(db())


@cache
def group_directory() -> GroupDirectory:
    s = settings()
    return GroupDirectory(groups(), clock, s.group_join_limit, s.group_index_refresh_s)


@cache
def card_alerts() -> CardAlertService:
    s = settings()
    return CardAlertService(
        group_directory(),
        bank_customers(),
        ops_tasks(),
        clock,
        max_distance_m=s.group_max_distance_m,
        cooldown=timedelta(days=s.invite_cooldown_days),
    )


@cache
def tag_rule_book() -> TagRuleBook:
    return TagRuleBook(
        store.TagRuleRepo(db()), tag_catalog(), clock, settings().tag_rules_refresh_s
    )


@cache
def profiles() -> ProfileService:
    s = settings()
    return ProfileService(
        bank_customers(),
        customers(),
        followups(),
        tag_rule_book(),
        tag_catalog(),
        topic(s.topic_tag_sync),
        clock,
        s.layering,
    )


@cache
def tag_sync() -> TagSyncService:
    return TagSyncService(bank_customers(), customers(), tag_catalog(), wecom(), clock)


@cache
def followup_notifier() -> FollowupNotifier:
    s = settings()
    return FollowupNotifier(
        followups(),
        customers(),
        store.Dedupe(db(), clock, s.dedupe_ttl_days),
        wecom_app(),
        ops_tasks(),
        clock,
        allow_as_of=s.tick_allow_as_of,
    )


@cache
def biz_events() -> BizEventRouter:
    return BizEventRouter(referrals(), profiles(), bank_customers(), funnel())


@cache
def campaign_records() -> campaign_store.CampaignBatchRepo:
    return campaign_store.CampaignBatchRepo(db())


@cache
def calendars() -> CalendarBook:
    return CalendarBook(
        package_years(), campaign_store.CalendarRepo(db()), clock, settings().calendar_refresh_s
    )


@cache
def campaign_book() -> CampaignBook:
    return CampaignBook(
        campaign_store.CampaignRepo(db()),
        campaign_store.CampaignRunRepo(db()),
        campaign_records(),
        campaign_store.AudienceSource(db()),
        calendars(),
        clock,
        settings().campaign_banned_words,
    )


@cache
def campaign_planner() -> CampaignPlanner:
    s = settings()
    return CampaignPlanner(
        campaign_store.CampaignRepo(db()),
        campaign_store.CampaignRunRepo(db()),
        campaign_store.AudienceSource(db()),
        campaign_store.CapLedger(db(), clock),
        topic(s.topic_campaign_batches),
        calendars(),
        ops_tasks(),
        ResultTracker(
            campaign_records(),
            wecom(),
            follow_for=timedelta(days=s.campaign_follow_days),
            remind_every=timedelta(minutes=s.campaign_remind_every_min),
        ),
        clock,
        s.campaign_banned_words,
        lookback=timedelta(minutes=s.campaign_lookback_min),
        allow_as_of=s.tick_allow_as_of,
    )


@cache
def batch_sender() -> BatchSender:
    return BatchSender(
        campaign_records(),
        wecom(),
        clock,
        stale_after=timedelta(seconds=settings().campaign_batch_stale_s),
    )


@cache
def transfers() -> TransferService:
    return TransferService(store.TransferRepo(db()), customers(), wecom(), clock)


@cache
def funnel() -> FunnelBook:
    return FunnelBook(FunnelStore(db()), channels(), customers())


@cache
def partner_auth() -> PartnerAuth:
    s = settings()
    keys = parse_keys(s.partner_keys.get_secret_value()) if s.partner_keys else {}
    return PartnerAuth(keys, s.partner_window_s)


def reset() -> None:
    """Forget every built client and service (tests change the environment between cases).

    Every cached builder of this module is cleared, so a new one cannot be forgotten here.
    """
    settings.cache_clear()
    for built in list(globals().values()):
        if getattr(built, "__module__", "") == __name__ and hasattr(built, "cache_clear"):
            built.cache_clear()
