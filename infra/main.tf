# The root module: every function, topic, secret, Firestore setting and the static egress
# path siyu uses. tests/infra/test_infra_agrees.py checks this file against the code.

locals {
  name = "siyu-${var.env}"

  # One entry per functions/<name>/ folder: entry point = folder name.
  functions = {
    wecom_callback = {
      trigger_topic = null
      min_instances = var.callback_min_instances
      max_instances = 20
      concurrency   = 40
      publishes_to  = ["wecom-events"]
      secrets       = ["SIYU_WECOM_SECRET", "SIYU_WECOM_TOKEN", "SIYU_WECOM_AES_KEY"]
      firestore     = true
    }
    on_wecom_event = {
      trigger_topic = "wecom-events"
      min_instances = 0
      max_instances = 20
      concurrency   = 10
      publishes_to  = ["tag-sync", "wecom-events-dlq"]
      secrets       = ["SIYU_WECOM_SECRET", "SIYU_WECOM_TOKEN", "SIYU_WECOM_AES_KEY"]
      firestore     = true
    }
    card_alert = {
      trigger_topic = null
      min_instances = var.card_alert_min_instances
      max_instances = 50
      concurrency   = 80
      publishes_to  = []
      secrets       = ["SIYU_PARTNER_KEYS"]
      firestore     = true
    }
    biz_events = {
      trigger_topic = null
      min_instances = 0
      max_instances = 20
      concurrency   = 80
      publishes_to  = ["biz-events"]
      secrets       = ["SIYU_PARTNER_KEYS"]
      firestore     = false
    }
    on_biz_event = {
      trigger_topic = "biz-events"
      min_instances = 0
      max_instances = 20
      concurrency   = 20
      publishes_to  = ["reward-granted", "tag-sync", "biz-events-dlq"]
      secrets       = ["SIYU_WECOM_SECRET", "SIYU_IDENTIFIER_KEY"]
      firestore     = true
    }
    on_tag_sync = {
      trigger_topic = "tag-sync"
      min_instances = 0
      max_instances = 5 # with mark_tag_per_min per instance: WeCom's rate stays bounded
      concurrency   = 10
      publishes_to  = ["tag-sync-dlq"]
      secrets       = ["SIYU_WECOM_SECRET"]
      firestore     = true
    }
    on_campaign_tick = {
      trigger_topic = "campaign-ticks"
      min_instances = 0
      max_instances = 1 # one planner at a time; runs are created once anyway
      concurrency   = 1
      publishes_to  = ["campaign-batches", "campaign-ticks-dlq"]
      secrets       = ["SIYU_WECOM_SECRET"]
      firestore     = true
    }
    on_campaign_batch = {
      trigger_topic = "campaign-batches"
      min_instances = 0
      max_instances = 10
      concurrency   = 4
      publishes_to  = ["campaign-batches-dlq"]
      secrets       = ["SIYU_WECOM_SECRET"]
      firestore     = true
    }
    on_followup_tick = {
      trigger_topic = "followup-ticks"
      min_instances = 0
      max_instances = 1
      concurrency   = 1
      publishes_to  = ["followup-ticks-dlq"]
      secrets       = ["SIYU_WECOM_AGENT_SECRET"]
      firestore     = true
    }
    on_inbox_sweep = {
      trigger_topic = "inbox-sweep-ticks"
      min_instances = 0
      max_instances = 1
      concurrency   = 1
      publishes_to  = ["wecom-events", "inbox-sweep-ticks-dlq"]
      secrets       = []
      firestore     = true
    }
    on_relayer_tick = {
      trigger_topic = "relayer-ticks"
      min_instances = 0
      max_instances = 1 # one re-layering pass at a time; a long one re-publishes its tick
      concurrency   = 1
      publishes_to  = ["tag-sync", "relayer-ticks", "relayer-ticks-dlq"]
      secrets       = ["SIYU_WECOM_SECRET"]
      firestore     = true
    }
    on_tag_backfill = {
      trigger_topic = "tag-backfill-ticks"
      min_instances = 0
      max_instances = 1 # pages advance one at a time; tag-sync paces the mark_tag calls
      concurrency   = 1
      publishes_to  = ["tag-sync", "tag-backfill-ticks-dlq"]
      secrets       = ["SIYU_WECOM_SECRET"]
      firestore     = true
    }
    on_content_upkeep = {
      trigger_topic = "content-upkeep-ticks"
      min_instances = 0
      max_instances = 1
      concurrency   = 1
      publishes_to  = ["content-upkeep-ticks-dlq"]
      secrets       = ["SIYU_WECOM_SECRET"]
      firestore     = true
    }
    on_retention_tick = {
      trigger_topic = "retention-ticks"
      min_instances = 0
      max_instances = 1 # one eraser at a time; each erasure is idempotent anyway
      concurrency   = 1
      publishes_to  = ["retention-ticks", "retention-ticks-dlq"]
      secrets       = ["SIYU_WECOM_SECRET"]
      firestore     = true
      audit         = true # each erasure leaves its receipt in the audit log
    }
    on_directory_tick = {
      trigger_topic = "directory-ticks"
      min_instances = 0
      max_instances = 1 # one writer of the snapshot at a time
      concurrency   = 1
      publishes_to  = ["directory-ticks-dlq"]
      secrets       = []
      firestore     = true
    }
    ops_console = {
      trigger_topic = null
      min_instances = 0
      max_instances = 2 # static files for a few dozen operators
      concurrency   = 50
      publishes_to  = []
      secrets       = []
      firestore     = false
    }
    ops_api = {
      trigger_topic = null
      min_instances = 0
      max_instances = 5
      concurrency   = 20
      publishes_to  = ["tag-sync", "tag-backfill-ticks"]
      secrets       = ["SIYU_WECOM_SECRET", "SIYU_WECOM_TOKEN", "SIYU_WECOM_AES_KEY", "SIYU_WECOM_AGENT_SECRET", "SIYU_SESSION_SECRET"]
      firestore     = true
      audit         = true
      # The console's health panel counts what waits in each <topic>-dlq-ops.
      peeks_dead_letters = true
    }
  }

  # Every topic gets a <name>-dlq; reward-granted is read by the bank's fulfilment system.
  topics = ["wecom-events", "biz-events", "reward-granted", "tag-sync", "followup-ticks", "campaign-ticks", "campaign-batches", "inbox-sweep-ticks", "relayer-ticks", "tag-backfill-ticks", "content-upkeep-ticks", "retention-ticks", "directory-ticks"]

  # Secret Manager secret id per environment variable the code reads as a secret.
  secrets = {
    SIYU_WECOM_SECRET       = "wecom-corp-secret"    # checkov:skip=CKV_SECRET_6: a secret's name, not its value
    SIYU_WECOM_TOKEN        = "wecom-callback-token" # checkov:skip=CKV_SECRET_6: a secret's name, not its value
    SIYU_WECOM_AES_KEY      = "wecom-encoding-aes-key"
    SIYU_PARTNER_KEYS       = "partner-hmac-keys"
    SIYU_WECOM_AGENT_SECRET = "wecom-agent-secret" # checkov:skip=CKV_SECRET_6: a secret's name, not its value
    SIYU_SESSION_SECRET     = "ops-session-key"
    SIYU_IDENTIFIER_KEY     = "identifier-hmac-key"
  }

  # Cloud Scheduler jobs (Asia/Shanghai) by name: {schedule, topic, description}. The
  # consistency test requires one for every function the registry marks as scheduled.
  scheduled_jobs = {
    campaign-tick = {
      schedule    = "*/5 * * * *"
      topic       = "campaign-ticks"
      description = "Every 5 minutes: plan due campaigns, follow their 群发 tasks"
    }
    followup-tick = {
      schedule    = "*/15 * * * *"
      topic       = "followup-ticks"
      description = "Every 15 minutes: remind each staff member of their due follow-ups"
    }
    inbox-sweep = {
      schedule    = "* * * * *"
      topic       = "inbox-sweep-ticks"
      description = "Every minute: publish WeCom callbacks stored while Pub/Sub was failing"
    }
    relayer-tick = {
      schedule    = "30 3 * * *"
      topic       = "relayer-ticks"
      description = "Daily at 03:30: re-layer the customers whose time-based segments and tags are due"
    }
    tag-backfill-tick = {
      schedule    = "* * * * *"
      topic       = "tag-backfill-ticks"
      description = "Every minute: carry saved tag rules to existing customers, page by page"
    }
    content-upkeep = {
      schedule    = "0 */6 * * *"
      topic       = "content-upkeep-ticks"
      description = "Every 6 hours: renew expiring WeCom media ids, keep group welcomes and group codes in step"
    }
    directory-tick = {
      schedule    = "*/5 * * * *"
      topic       = "directory-ticks"
      description = "Every 5 minutes: the group directory's snapshot a new card-alert instance starts from"
    }
    retention-tick = {
      schedule    = "0 4 * * *"
      topic       = "retention-ticks"
      description = "Daily 04:00: erase customers whose every relation ended more than var.retention_days ago"
    }
  }

  plain_env = {
    SIYU_PROJECT                    = var.project_id
    SIYU_WECOM_CORP_ID              = var.wecom_corp_id
    SIYU_WECOM_REPLAY_WINDOW_S      = "300"
    SIYU_WELCOME_BUDGET_S           = "1.5"
    SIYU_OPS_AUTH                   = "google"
    SIYU_OPS_AUDIENCE               = var.ops_audience
    SIYU_FIRST_ADMIN                = var.first_admin
    SIYU_OPS_LOGIN_REDIRECT         = var.ops_login_redirect
    SIYU_AUDIT_DATABASE             = google_firestore_database.audit.name
    SIYU_AUDIT_RETENTION_DAYS       = tostring(var.audit_retention_days)
    SIYU_TOPIC_WECOM_EVENTS         = "wecom-events"
    SIYU_TOPIC_BIZ_EVENTS           = "biz-events"
    SIYU_TOPIC_REWARD_GRANTED       = "reward-granted"
    SIYU_TOPIC_TAG_SYNC             = "tag-sync"
    SIYU_TOPIC_FOLLOWUP_TICKS       = "followup-ticks"
    SIYU_TOPIC_CAMPAIGN_TICKS       = "campaign-ticks"
    SIYU_TOPIC_CAMPAIGN_BATCHES     = "campaign-batches"
    SIYU_TOPIC_INBOX_SWEEP_TICKS    = "inbox-sweep-ticks"
    SIYU_TOPIC_RELAYER_TICKS        = "relayer-ticks"
    SIYU_TOPIC_TAG_BACKFILL_TICKS   = "tag-backfill-ticks"
    SIYU_TOPIC_CONTENT_UPKEEP_TICKS = "content-upkeep-ticks"
    SIYU_TOPIC_RETENTION_TICKS      = "retention-ticks"
    SIYU_TOPIC_DIRECTORY_TICKS      = "directory-ticks"
    SIYU_RETENTION_DAYS             = tostring(var.retention_days)
    SIYU_MEDIA_BUCKET               = google_storage_bucket.media.name
    SIYU_WECOM_AGENT_ID             = tostring(var.wecom_agent_id)
    SIYU_GROUP_JOIN_LIMIT           = tostring(var.group_join_limit)
    SIYU_GROUP_MAX_DISTANCE_M       = tostring(var.group_max_distance_m)
    SIYU_INVITE_COOLDOWN_DAYS       = tostring(var.invite_cooldown_days)
    LOG_EXECUTION_ID                = "true"
  }
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  pubsub_service_agent = "service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_secret_manager_secret" "siyu" {
  for_each  = local.secrets
  project   = var.project_id
  secret_id = "${local.name}-${each.value}"
  replication {
    auto {}
  }
}

module "topic" {
  source               = "./modules/topic"
  for_each             = toset(local.topics)
  project_id           = var.project_id
  name                 = each.value
  region               = var.region
  kms_key_id           = google_kms_crypto_key.pubsub.id
  pubsub_service_agent = local.pubsub_service_agent
  depends_on           = [google_kms_crypto_key_iam_member.pubsub]
}

module "function" {
  source                = "./modules/function"
  for_each              = var.deploy_functions ? local.functions : {}
  project_id            = var.project_id
  region                = var.region
  name                  = each.key
  prefix                = local.name
  bundle_dir            = "${var.bundle_dir}/${each.key}"
  source_bucket         = var.source_bucket
  trigger_topic         = each.value.trigger_topic # a name: count inside must be plan-known
  max_delivery_attempts = 5
  http_invoker          = google_service_account.api_gateway.email
  pubsub_service_agent  = local.pubsub_service_agent
  min_instances         = each.value.min_instances
  max_instances         = each.value.max_instances
  concurrency           = each.value.concurrency
  env                   = local.plain_env
  secret_env = {
    for var_name in each.value.secrets : var_name => "${local.name}-${local.secrets[var_name]}"
  }
  vpc_connector = google_vpc_access_connector.egress.id
  # Names, not ids, come in above; these make the topics and secrets exist first.
  depends_on = [module.topic, google_secret_manager_secret.siyu]
}

# Publishing rights, least privilege: only the topics each function writes to.
resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = var.deploy_functions ? {
    for pair in flatten([
      for fn, cfg in local.functions : [for topic in cfg.publishes_to : { fn = fn, topic = topic }]
    ]) : "${pair.fn}/${pair.topic}" => pair
  } : {}
  project = var.project_id
  topic   = endswith(each.value.topic, "-dlq") ? module.topic[trimsuffix(each.value.topic, "-dlq")].dead_letter_id : module.topic[each.value.topic].id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${module.function[each.value.fn].service_account_email}"
}

# Firestore only for the functions that read or write it, and only its main database:
# the audit database is reached through the appender role below.
resource "google_project_iam_member" "firestore_users" {
  for_each = { for fn, cfg in local.functions : fn => cfg if cfg.firestore && var.deploy_functions }
  project  = var.project_id
  role     = "roles/datastore.user"
  member   = "serviceAccount:${module.function[each.key].service_account_email}"
  condition {
    title      = "main-database-only"
    expression = "resource.name.startsWith(\"projects/${var.project_id}/databases/(default)\")"
  }
}

# The audit log: ops_api appends an entry per change and reads them back; no function may
# update or delete one (TTL, run by Firestore itself, removes them after the retention).
resource "google_project_iam_member" "audit_appenders" {
  for_each = { for fn, cfg in local.functions : fn => cfg if try(cfg.audit, false) && var.deploy_functions }
  project  = var.project_id
  role     = google_project_iam_custom_role.audit_appender.id
  member   = "serviceAccount:${module.function[each.key].service_account_email}"
  condition {
    title      = "audit-database-only"
    expression = "resource.name.startsWith(\"projects/${var.project_id}/databases/${google_firestore_database.audit.name}\")"
  }
}

# Counting dead letters means pulling them and releasing them at once (nothing is acked):
# subscriber on the -dlq-ops subscriptions only, for the functions whose panel shows them.
resource "google_pubsub_subscription_iam_member" "dead_letter_peekers" {
  for_each = var.deploy_functions ? {
    for pair in setproduct([for fn, cfg in local.functions : fn if try(cfg.peeks_dead_letters, false)], local.topics) :
    "${pair[0]}/${pair[1]}" => { fn = pair[0], topic = pair[1] }
  } : {}
  project      = var.project_id
  subscription = module.topic[each.value.topic].dead_letter_ops_subscription
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${module.function[each.value.fn].service_account_email}"
}

# Timed work: one Cloud Scheduler job per entry, publishing a tick to its topic.
module "scheduled_job" {
  source      = "./modules/scheduled_job"
  for_each    = local.scheduled_jobs
  project_id  = var.project_id
  region      = var.region
  name        = "${local.name}-${each.key}"
  description = each.value.description
  schedule    = each.value.schedule
  topic_id    = module.topic[each.value.topic].id
}
