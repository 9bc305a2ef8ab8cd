"""The composition root: every service wired from adapters passed in, production by default.

`bootstrap(...)` takes the adapters (stores, WeCom clients, topics, clock) as arguments and
builds nothing until asked; unit tests pass fakes and get the real wiring. Entry points ask
`root()`, the instance's one production root, built on first use under a lock so concurrent
cold requests build each client once. Importing this module configures nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from siyu import logging as siyu_logging
from siyu.adapters.clock import SystemClock
from siyu.config import Settings
from siyu.domain.calendar import OfficialYear
from siyu.domain.partner_auth import PartnerAuth, parse_keys

if TYPE_CHECKING:
    from google.cloud import firestore

    from siyu.adapters.wecom.client import WeComClient
    from siyu.ports import (
        AppMessenger,
        AudienceSource,
        AuditLog,
        BackfillRepo,
        BankCustomerRepo,
        BlobStore,
        BranchRepo,
        CalendarRepo,
        CallbackInbox,
        CampaignBatchRepo,
        CampaignRepo,
        CampaignRunRepo,
        CapLedger,
        ChannelRepo,
        Clock,
        CustomerRepo,
        DeadLetterGauge,
        Dedupe,
        FailureCounter,
        FollowupRepo,
        FunnelStore,
        GrantRepo,
        GroupCodeRepo,
        GroupDirectoryStore,
        GroupRepo,
        IdempotencyRepo,
        LoginVerifier,
        MediaRepo,
        OpsTaskRepo,
        PersonalData,
        ReferralRepo,
        SessionRepo,
        StaffRepo,
        TagRepo,
        TagRuleRepo,
        TickLog,
        Topic,
        TransferRepo,
        WeCom,
        WelcomeLedger,
    )
    from siyu.services.access import OpsAccess
    from siyu.services.biz_events import BizEventRouter
    from siyu.services.campaigns import (
        BatchSender,
        CampaignAdmin,
        CampaignPlanner,
        HolidayCalendar,
    )
    from siyu.services.card_alerts import CardAlertService
    from siyu.services.channels import ChannelService
    from siyu.services.content_upkeep import ContentUpkeep
    from siyu.services.customer_profile import ProfileService
    from siyu.services.customer_timeline import CustomerTimeline
    from siyu.services.followups import FollowupBook, FollowupNotifier
    from siyu.services.funnel import FunnelTracker
    from siyu.services.group_codes import GroupCodes
    from siyu.services.group_directory import GroupDirectory
    from siyu.services.group_welcome import GroupWelcomes
    from siyu.services.groups import BenefitGroupAdmin
    from siyu.services.health import HealthCheck
    from siyu.services.imports import ImportJobs
    from siyu.services.intake import CallbackIntake, InboxSweeper
    from siyu.services.layering import CustomerLayering
    from siyu.services.media import MediaLibrary
    from siyu.services.nearby_groups import NearbyGroupIndex
    from siyu.services.ops_calls import AuditTrail, IdempotentCalls
    from siyu.services.people import PeopleService
    from siyu.services.referrals import ReferralService
    from siyu.services.relayering import Relayering
    from siyu.services.retention import Retention
    from siyu.services.tag_backfill import TagBackfill
    from siyu.services.tag_catalog import TagCatalog
    from siyu.services.tag_rules import TagRuleSet
    from siyu.services.tag_sync import TagSyncService
    from siyu.services.transfers import TransferService
    from siyu.services.wecom_events import WeComEventProcessor
    from siyu.services.welcome import WelcomeSender


@dataclass(frozen=True)
class Stores:
    """Every repository the services stand on: Firestore in production, fakes in unit tests."""

    customers: CustomerRepo
    groups: GroupRepo
    bank_customers: BankCustomerRepo
    channels: ChannelRepo
    tags: TagRepo
    followups: FollowupRepo
    ops_tasks: OpsTaskRepo
    tag_rules: TagRuleRepo
    backfills: BackfillRepo
    inbox: CallbackInbox
    welcomes: WelcomeLedger
    dedupe: Dedupe
    deliveries: FailureCounter
    referrals: ReferralRepo
    transfers: TransferRepo
    funnel: FunnelStore
    campaigns: CampaignRepo
    campaign_runs: CampaignRunRepo
    campaign_batches: CampaignBatchRepo
    audience: AudienceSource
    caps: CapLedger
    calendar_years: CalendarRepo
    media: MediaRepo
    group_codes: GroupCodeRepo
    ticks: TickLog
    group_directory: GroupDirectoryStore


def firestore_stores(db: firestore.Client, clock: Clock, ttl_days: int) -> Stores:
    """The production stores, all on one Firestore client."""
    from siyu.adapters.firestore import campaigns, content, store
    from siyu.adapters.firestore.backfills import BackfillRepo as FirestoreBackfills
    from siyu.adapters.firestore.deliveries import DeliveryAttempts
    from siyu.adapters.firestore.funnel import FunnelStore as FirestoreFunnel
    from siyu.adapters.firestore.group_directory import GroupDirectoryRepo
    from siyu.adapters.firestore.inbox import InboxRepo
    from siyu.adapters.firestore.referrals import ReferralRepo as FirestoreReferrals
    from siyu.adapters.firestore.ticks import TickLog as FirestoreTicks

    return Stores(
        customers=store.CustomerRepo(db, clock, ttl_days),
        groups=store.GroupRepo(db, clock, ttl_days),
        bank_customers=store.BankCustomerRepo(db, clock, ttl_days),
        channels=store.ChannelRepo(db),
        tags=store.TagRepo(db),
        followups=store.FollowupRepo(db),
        ops_tasks=store.OpsTaskRepo(db),
        tag_rules=store.TagRuleRepo(db),
        backfills=FirestoreBackfills(db),
        inbox=InboxRepo(db, clock, ttl_days),
        welcomes=store.WelcomeLedger(db, clock),
        dedupe=store.Dedupe(db, clock, ttl_days),
        deliveries=DeliveryAttempts(db, clock, ttl_days),
        referrals=FirestoreReferrals(db, clock),
        transfers=store.TransferRepo(db),
        funnel=FirestoreFunnel(db),
        campaigns=campaigns.CampaignRepo(db),
        campaign_runs=campaigns.CampaignRunRepo(db),
        campaign_batches=campaigns.CampaignBatchRepo(db),
        audience=campaigns.AudienceSource(db),
        caps=campaigns.CapLedger(db, clock),
        calendar_years=campaigns.CalendarRepo(db),
        ticks=FirestoreTicks(db),
        media=content.MediaRepo(db),
        group_codes=content.GroupCodeRepo(db),
        group_directory=GroupDirectoryRepo(db),
    )


@dataclass(frozen=True)
class AccessStores:
    """Who may call the ops API, their sessions and calls, and the audit log."""

    grants: GrantRepo
    branches: BranchRepo
    staff: StaffRepo
    sessions: SessionRepo
    idempotency: IdempotencyRepo
    audit: AuditLog
    people: PersonalData  # a person's documents anywhere, and their audit pseudonyms


T = TypeVar("T")
M = TypeVar("M")
STAFF_REFRESH_S = 300  # a staff member's new branch reaches the funnel within this


def _once(build: Callable[..., T]) -> Callable[..., T]:
    """Build on first call per root and argument tuple, under the root's lock."""
    name = build.__name__

    @wraps(build)
    def get(self: Root, *args: Any) -> T:
        key = (name, *args)
        if key not in self._built:
            with self._lock:
                if key not in self._built:
                    self._built[key] = build(self, *args)
        return self._built[key]  # type: ignore[no-any-return]

    return get


class Root:
    """One instance's services. Adapters not given are the production ones, built lazily."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        stores: Stores | None = None,
        wecom: WeCom | None = None,
        wecom_app: AppMessenger | None = None,
        topic: Callable[[str], Topic] | None = None,
        clock: Clock | None = None,
        official_years: Callable[[], list[OfficialYear]] | None = None,
        blobs: BlobStore | None = None,
        access: AccessStores | None = None,
        login: LoginVerifier | None = None,
        dead_letters: DeadLetterGauge | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        self._given: dict[str, Any] = {
            "stores": stores,
            "wecom": wecom,
            "wecom_app": wecom_app,
            "topic": topic,
            "official_years": official_years,
            "blobs": blobs,
            "access": access,
            "login": login,
            "dead_letters": dead_letters,
        }
        self._built: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.RLock()  # builders nest: a service builds its clients

    # -- adapters ----------------------------------------------------------------------

    @_once
    def db(self) -> firestore.Client:
        from google.cloud import firestore

        return firestore.Client(project=self.settings.project)

    @_once
    def stores(self) -> Stores:
        given: Stores | None = self._given["stores"]
        return given or firestore_stores(self.db(), self.clock, self.settings.dedupe_ttl_days)

    @_once
    def wecom(self) -> WeCom:
        """The customer-contact client (its secret: contacts, tags, groups, 群发, transfers)."""
        given: WeCom | None = self._given["wecom"]
        return given or self._wecom_client(
            "wecom_secret", mark_tag_per_min=self.settings.mark_tag_per_min
        )

    @_once
    def wecom_app(self) -> AppMessenger:
        """The self-built app's client: its own secret and token, for application messages."""
        given: AppMessenger | None = self._given["wecom_app"]
        return given or self._wecom_client(
            "wecom_agent_secret", agent_id=self.settings.wecom_agent_id
        )

    def _wecom_client(self, secret: str, **options: Any) -> WeComClient:
        from siyu.adapters.wecom.client import WeComClient

        s = self.settings
        return WeComClient(
            s.wecom_api_base,
            s.wecom_corp_id,
            s.secret(secret),
            timeout_s=s.wecom_timeout_s,
            max_attempts=s.wecom_max_attempts,
            **options,
        )

    @_once
    def topic(self, name: str) -> Topic:
        """A publisher for one topic; its poison messages go to `<name>-dlq`."""
        if self._given["topic"] is not None:
            return self._given["topic"](name)  # type: ignore[no-any-return]
        from siyu.adapters.pubsub import Publisher

        return Publisher(self.settings.project, name, f"{name}-dlq")

    @_once
    def blobs(self) -> BlobStore:
        """The media library's bucket (its emulator on the local stack)."""
        given: BlobStore | None = self._given["blobs"]
        if given is not None:
            return given
        from siyu.adapters.blobs import CloudStorageBlobs, storage_client

        s = self.settings
        return CloudStorageBlobs(storage_client(s.project), s.media_bucket)

    def publisher(self) -> Topic:
        """The wecom-events topic the callback publishes to."""
        return self.topic(self.settings.topic_wecom_events)

    def deliveries(self) -> FailureCounter:
        return self.stores().deliveries

    # -- services ----------------------------------------------------------------------

    @_once
    def welcome_sender(self) -> WelcomeSender:
        from siyu.services.welcome import WelcomeSender

        s = self.settings
        return WelcomeSender(
            self.wecom(),
            self.stores().welcomes,
            self.stores().channels,
            self.media(),
            self.clock,
            default_text=s.default_welcome_text,
            window_s=s.welcome_window_s,
            # A callback silent this long after claiming has died; the worker may take over.
            stale_after_s=s.welcome_budget_s + 2.0,
        )

    @_once
    def intake(self) -> CallbackIntake:
        from siyu.adapters.wecom.codec import CallbackCodec
        from siyu.adapters.wecom.crypto import WeComCrypto
        from siyu.services.intake import CallbackIntake

        s = self.settings
        crypto = WeComCrypto(s.secret("wecom_token"), s.secret("wecom_aes_key"), s.wecom_corp_id)
        return CallbackIntake(
            CallbackCodec(crypto),
            self.stores().inbox,
            self.publisher(),
            self.welcome_sender(),
            self.clock,
            replay_window_s=s.wecom_replay_window_s,
            welcome_budget_s=s.welcome_budget_s,
        )

    @_once
    def inbox_sweeper(self) -> InboxSweeper:
        from siyu.services.intake import InboxSweeper

        return InboxSweeper(
            self.stores().inbox, self.publisher(), self.clock, self.settings.inbox_sweep_min_age_s
        )

    @_once
    def processor(self) -> WeComEventProcessor:
        from siyu.services.wecom_events import WeComEventProcessor

        st = self.stores()
        return WeComEventProcessor(
            self.wecom(),
            st.customers,
            st.groups,
            st.tags,
            st.channels,
            st.followups,
            self.welcome_sender(),
            st.bank_customers,
            self.clock,
            self.settings.followup_cadence,
            self.funnel(),
            self.followup_book(),
            self.topic(self.settings.topic_tag_sync),
            self.group_codes(),
        )

    @_once
    def tag_catalog(self) -> TagCatalog:
        from siyu.services.tag_catalog import TagCatalog

        return TagCatalog(
            self.wecom(), self.stores().tags, self.clock, self.settings.tag_catalog_refresh_s
        )

    @_once
    def channel_service(self) -> ChannelService:
        from siyu.services.channels import ChannelService

        return ChannelService(
            self.tag_catalog(), self.stores().channels, self.wecom(), self.media()
        )

    @_once
    def media(self) -> MediaLibrary:
        from siyu.services.media import MediaLibrary

        return MediaLibrary(
            self.stores().media,
            self.blobs(),
            self.wecom(),
            self.clock,
            margin=timedelta(hours=self.settings.media_margin_h),
        )

    @_once
    def group_codes(self) -> GroupCodes:
        from siyu.services.group_codes import GroupCodes

        st = self.stores()
        return GroupCodes(
            st.group_codes,
            st.groups,
            self.wecom(),
            st.ops_tasks,
            self.clock,
            self.settings.group_join_limit,
        )

    @_once
    def group_welcomes(self) -> GroupWelcomes:
        from siyu.services.group_welcome import GroupWelcomes

        st = self.stores()
        return GroupWelcomes(st.groups, st.campaigns, self.wecom(), self.media(), self.clock)

    @_once
    def content_upkeep(self) -> ContentUpkeep:
        from siyu.services.content_upkeep import ContentUpkeep

        s = self.settings
        return ContentUpkeep(
            self.media(),
            self.group_welcomes(),
            self.group_codes(),
            self.clock,
            horizon=timedelta(hours=s.media_refresh_horizon_h),
            allow_as_of=s.tick_allow_as_of,
        )

    @_once
    def group_admin(self) -> BenefitGroupAdmin:
        from siyu.services.groups import BenefitGroupAdmin

        return BenefitGroupAdmin(
            self.wecom(),
            self.stores().groups,
            self.group_codes(),
            self.group_welcomes(),
            self.clock,
        )

    @_once
    def nearby_groups(self) -> NearbyGroupIndex:
        from siyu.services.nearby_groups import NearbyGroupIndex

        s = self.settings
        return NearbyGroupIndex(
            self.stores().groups,
            self.clock,
            s.group_join_limit,
            s.group_index_refresh_s,
            self.stores().group_directory,
        )

    @_once
    def group_directory(self) -> GroupDirectory:
        from siyu.services.group_directory import GroupDirectory

        return GroupDirectory(self.stores().group_directory, self.stores().groups, self.clock)

    @_once
    def card_alerts(self) -> CardAlertService:
        from siyu.services.card_alerts import CardAlertService

        s = self.settings
        return CardAlertService(
            self.nearby_groups(),
            self.stores().bank_customers,
            self.stores().ops_tasks,
            self.clock,
            max_distance_m=s.group_max_distance_m,
            cooldown=timedelta(days=s.invite_cooldown_days),
        )

    @_once
    def tag_rules(self) -> TagRuleSet:
        from siyu.services.tag_rules import TagRuleSet

        s = self.settings
        return TagRuleSet(
            self.stores().tag_rules,
            self.tag_catalog(),
            self.stores().backfills,
            self.topic(s.topic_tag_backfill_ticks),
            self.clock,
            s.tag_rules_refresh_s,
        )

    @_once
    def layering(self) -> CustomerLayering:
        from siyu.services.layering import CustomerLayering

        return CustomerLayering(self.tag_rules(), self.tag_catalog(), self.settings.layering)

    @_once
    def tag_backfill(self) -> TagBackfill:
        from siyu.services.tag_backfill import TagBackfill

        s = self.settings
        return TagBackfill(
            self.stores().backfills,
            self.stores().bank_customers,
            self.tag_rules(),
            self.layering(),
            self.topic(s.topic_tag_sync),
            self.clock,
            page_size=s.backfill_page_size,
            budget_s=s.backfill_budget_s,
            preview_limit=s.preview_limit,
        )

    @_once
    def relayering(self) -> Relayering:
        from siyu.services.relayering import Relayering

        s = self.settings
        return Relayering(
            self.stores().bank_customers,
            self.layering(),
            self.topic(s.topic_tag_sync),
            self.topic(s.topic_relayer_ticks),
            self.clock,
            allow_as_of=s.tick_allow_as_of,
            page_size=s.relayer_page_size,
            budget_s=s.relayer_budget_s,
        )

    @_once
    def profiles(self) -> ProfileService:
        from siyu.services.customer_profile import ProfileService

        st = self.stores()
        return ProfileService(
            st.bank_customers,
            st.customers,
            st.followups,
            self.followup_book(),
            self.layering(),
            self.topic(self.settings.topic_tag_sync),
            self.clock,
        )

    @_once
    def followup_book(self) -> FollowupBook:
        from siyu.services.followups import FollowupBook

        return FollowupBook(self.stores().followups, self.clock)

    @_once
    def tag_sync(self) -> TagSyncService:
        from siyu.services.tag_sync import TagSyncService

        st = self.stores()
        return TagSyncService(
            st.bank_customers, st.customers, self.tag_catalog(), self.wecom(), self.clock
        )

    @_once
    def followup_notifier(self) -> FollowupNotifier:
        from siyu.services.followups import FollowupNotifier

        st = self.stores()
        return FollowupNotifier(
            st.followups,
            st.customers,
            st.dedupe,
            self.wecom_app(),
            st.ops_tasks,
            self.clock,
            allow_as_of=self.settings.tick_allow_as_of,
        )

    @_once
    def referrals(self) -> ReferralService:
        from siyu.services.referrals import ReferralService

        s = self.settings
        return ReferralService(
            self.stores().referrals,
            self.topic(s.topic_reward_granted),
            self.clock,
            tiers=s.referral_tiers,
            daily_limit=s.referral_daily_limit,
            referees_per_hash=s.referral_referees_per_hash,
            stale_after=timedelta(seconds=s.referral_stale_s),
            identifier_key=s.secret("identifier_key").encode(),
        )

    @_once
    def biz_events(self) -> BizEventRouter:
        from siyu.services.biz_events import BizEventRouter

        return BizEventRouter(
            self.referrals(), self.profiles(), self.stores().bank_customers, self.funnel()
        )

    @_once
    def calendar(self) -> HolidayCalendar:
        from siyu.services.campaigns import HolidayCalendar

        official = self._given["official_years"]
        if official is None:
            from siyu.adapters.calendar_package import package_years as official
        return HolidayCalendar(
            official(), self.stores().calendar_years, self.clock, self.settings.calendar_refresh_s
        )

    @_once
    def campaign_admin(self) -> CampaignAdmin:
        from siyu.services.campaigns import CampaignAdmin

        st = self.stores()
        return CampaignAdmin(
            st.campaigns,
            st.campaign_runs,
            st.campaign_batches,
            st.audience,
            self.calendar(),
            self.wecom(),
            self.media(),
            self.group_welcomes(),
            self.clock,
            self.settings.campaign_banned_words,
        )

    @_once
    def campaign_planner(self) -> CampaignPlanner:
        from siyu.services.campaigns import CampaignPlanner, ResultTracker

        s, st = self.settings, self.stores()
        return CampaignPlanner(
            st.campaigns,
            st.campaign_runs,
            st.audience,
            st.caps,
            self.topic(s.topic_campaign_batches),
            self.calendar(),
            st.ops_tasks,
            ResultTracker(
                st.campaign_batches,
                self.wecom(),
                follow_for=timedelta(days=s.campaign_follow_days),
                remind_every=timedelta(minutes=s.campaign_remind_every_min),
            ),
            self.clock,
            s.campaign_banned_words,
            lookback=timedelta(minutes=s.campaign_lookback_min),
            allow_as_of=s.tick_allow_as_of,
        )

    @_once
    def batch_sender(self) -> BatchSender:
        from siyu.services.campaigns import BatchSender

        return BatchSender(
            self.stores().campaign_batches,
            self.stores().campaign_runs,
            self.wecom(),
            self.media(),
            self.clock,
            stale_after=timedelta(seconds=self.settings.campaign_batch_stale_s),
        )

    @_once
    def transfers(self) -> TransferService:
        from siyu.services.transfers import TransferService

        st = self.stores()
        return TransferService(st.transfers, st.customers, st.groups, self.wecom(), self.clock)

    @_once
    def funnel(self) -> FunnelTracker:
        from siyu.services.cached import Cached
        from siyu.services.funnel import FunnelTracker

        st = self.stores()
        staff = self._staff()
        # Every new relation asks its staff member's branch: the (small) staff list is read
        # once per STAFF_REFRESH_S, not once per event.
        branches = Cached(
            lambda: {s.userid: s.branch for s in staff.all()}, self.clock, STAFF_REFRESH_S
        )
        return FunnelTracker(st.funnel, st.channels, st.customers, branches.get)

    @_once
    def customer_timeline(self) -> CustomerTimeline:
        from siyu.services.customer_timeline import CustomerTimeline

        st = self.stores()
        return CustomerTimeline(
            st.customers, st.bank_customers, st.followups, st.referrals, st.caps
        )

    @_once
    def import_jobs(self) -> ImportJobs:
        """The console's imports: Firestore's BulkWriter, as `siyu import` writes."""
        from siyu.adapters.firestore.bulk_import import BulkImporter
        from siyu.adapters.firestore.import_jobs import ImportJobRepo
        from siyu.services.imports import ImportJobs

        return ImportJobs(ImportJobRepo(self.db()), BulkImporter(self.db(), self.clock), self.clock)

    @_once
    def health(self) -> HealthCheck:
        from siyu.services.health import HealthCheck

        given: DeadLetterGauge | None = self._given["dead_letters"]
        if given is None:
            from siyu.adapters.dead_letters import DeadLetterGauge as PubSubGauge

            given = PubSubGauge(self.settings.project)
        st = self.stores()
        return HealthCheck(given, st.ticks, st.ops_tasks, self.settings.topics(), self.clock)

    def heartbeat(self, topic: str, handler: Callable[[M], object]) -> Callable[[M], object]:
        """A scheduled function's handler that notes each tick it handled (health panel)."""
        from siyu.services.health import heartbeat

        return heartbeat(self.stores().ticks, topic, handler, self.clock)

    # -- ops identity ------------------------------------------------------------------

    @_once
    def access_stores(self) -> AccessStores:
        given: AccessStores | None = self._given["access"]
        if given is not None:
            return given
        from google.cloud import firestore

        from siyu.adapters.firestore import access
        from siyu.adapters.firestore.people import PersonalDataRepo

        db, s = self.db(), self.settings
        audit_db = firestore.Client(project=s.project, database=s.audit_database)
        return AccessStores(
            grants=access.GrantRepo(db),
            branches=access.BranchRepo(db),
            staff=access.StaffRepo(db),
            sessions=access.SessionRepo(db),
            idempotency=access.IdempotencyRepo(db),
            audit=access.AuditRepo(audit_db),
            people=PersonalDataRepo(db),
        )

    def _staff(self) -> StaffRepo:
        """The staff repository alone: the event workers need it, not the audit database."""
        given: AccessStores | None = self._given["access"]
        if given is not None:
            return given.staff
        from siyu.adapters.firestore.access import StaffRepo as FirestoreStaff

        return FirestoreStaff(self.db())

    @_once
    def access(self) -> OpsAccess:
        from siyu.services.access import LoginConfig, OpsAccess

        s, st = self.settings, self.access_stores()
        login = self._given["login"] or self._wecom_client(
            "wecom_agent_secret", agent_id=s.wecom_agent_id
        )
        config = LoginConfig(
            corp_id=s.wecom_corp_id,
            agent_id=s.wecom_agent_id,
            login_base=s.wecom_login_base,
            redirect_uri=s.ops_login_redirect,
            first_admin=s.first_admin,
            idle=timedelta(minutes=s.session_idle_min),
            lifetime=timedelta(hours=s.session_max_h),
        )
        return OpsAccess(st.grants, st.branches, st.staff, st.sessions, login, self.clock, config)

    @_once
    def audit_trail(self) -> AuditTrail:
        from siyu.services.ops_calls import AuditTrail

        st = self.access_stores()
        return AuditTrail(st.audit, self.clock, self.settings.audit_retention_days, st.people.token)

    @_once
    def retention(self) -> Retention:
        from siyu.services.retention import Retention

        s = self.settings
        return Retention(
            self.people(),
            self.access_stores().people,
            self.topic(s.topic_retention_ticks),
            self.clock,
            retention_days=s.retention_days,
            page_size=s.retention_page_size,
            budget_s=s.retention_budget_s,
            allow_as_of=s.tick_allow_as_of,
        )

    @_once
    def people(self) -> PeopleService:
        from siyu.services.people import PeopleService

        return PeopleService(
            self.access_stores().people, self.wecom(), self.audit_trail(), self.clock
        )

    @_once
    def idempotent_calls(self) -> IdempotentCalls:
        from siyu.services.ops_calls import IdempotentCalls

        return IdempotentCalls(
            self.access_stores().idempotency,
            self.clock,
            timedelta(hours=self.settings.idempotency_ttl_h),
        )

    @_once
    def partner_auth(self) -> PartnerAuth:
        s = self.settings
        keys = parse_keys(s.partner_keys.get_secret_value()) if s.partner_keys else {}
        return PartnerAuth(keys, s.partner_window_s)


bootstrap = Root  # bootstrap(settings, stores=…, wecom=…): the wiring over those adapters


_root: Root | None = None
_root_lock = threading.Lock()


def root() -> Root:
    """This instance's production root; the first caller builds it (and sets up JSON logs)."""
    global _root
    if _root is None:
        with _root_lock:
            if _root is None:
                from siyu.config import settings

                siyu_logging.configure()
                _root = bootstrap(settings())
    return _root


def install(built: Root | None) -> None:
    """Make `built` the instance's root (tests: a root on fakes; None: build afresh)."""
    global _root
    from siyu.config import settings

    with _root_lock:
        settings.cache_clear()
        _root = built


def reset() -> None:
    """Forget the instance's root and settings (tests change the environment between cases)."""
    install(None)
