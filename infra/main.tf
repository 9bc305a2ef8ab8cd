# The root module: every function, topic, secret, Firestore setting and the static egress
# path siyu uses. tests/unit/test_infra_agrees.py checks this file against the code.

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
    }
    on_wecom_event = {
      trigger_topic = "wecom-events"
      min_instances = 0
      max_instances = 20
      concurrency   = 10
      publishes_to  = ["wecom-events-dlq"]
      secrets       = ["SIYU_WECOM_SECRET", "SIYU_WECOM_TOKEN", "SIYU_WECOM_AES_KEY"]
    }
    card_alert = {
      trigger_topic = null
      min_instances = var.card_alert_min_instances
      max_instances = 50
      concurrency   = 80
      publishes_to  = []
      secrets       = ["SIYU_PARTNER_KEYS"]
    }
    biz_events = {
      trigger_topic = null
      min_instances = 0
      max_instances = 20
      concurrency   = 80
      publishes_to  = ["biz-events"]
      secrets       = ["SIYU_PARTNER_KEYS"]
    }
    on_biz_event = {
      trigger_topic = "biz-events"
      min_instances = 0
      max_instances = 20
      concurrency   = 20
      publishes_to  = ["reward-granted", "biz-events-dlq"]
      secrets       = []
    }
    ops_api = {
      trigger_topic = null
      min_instances = 0
      max_instances = 5
      concurrency   = 20
      publishes_to  = []
      secrets       = ["SIYU_WECOM_SECRET", "SIYU_WECOM_TOKEN", "SIYU_WECOM_AES_KEY"]
    }
  }

  # Every topic gets a <name>-dlq; reward-granted is read by the bank's fulfilment system.
  topics = ["wecom-events", "biz-events", "reward-granted"]

  # Secret Manager secret id per environment variable the code reads as a secret.
  secrets = {
    SIYU_WECOM_SECRET  = "wecom-corp-secret"
    SIYU_WECOM_TOKEN   = "wecom-callback-token"
    SIYU_WECOM_AES_KEY = "wecom-encoding-aes-key"
    SIYU_PARTNER_KEYS  = "partner-hmac-keys"
  }

  plain_env = {
    SIYU_PROJECT               = var.project_id
    SIYU_WECOM_CORP_ID         = var.wecom_corp_id
    SIYU_WECOM_REPLAY_WINDOW_S = "300"
    SIYU_WELCOME_BUDGET_S      = "1.5"
    SIYU_TOPIC_WECOM_EVENTS    = "wecom-events"
    SIYU_TOPIC_BIZ_EVENTS      = "biz-events"
    SIYU_TOPIC_REWARD_GRANTED  = "reward-granted"
    SIYU_GROUP_JOIN_LIMIT      = tostring(var.group_join_limit)
    SIYU_GROUP_MAX_DISTANCE_M  = tostring(var.group_max_distance_m)
    SIYU_INVITE_COOLDOWN_DAYS  = tostring(var.invite_cooldown_days)
    LOG_EXECUTION_ID           = "true"
  }
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
  source     = "./modules/topic"
  for_each   = toset(local.topics)
  project_id = var.project_id
  name       = each.value
}

module "function" {
  source        = "./modules/function"
  for_each      = local.functions
  project_id    = var.project_id
  region        = var.region
  name          = each.key
  prefix        = local.name
  bundle_dir    = "${var.bundle_dir}/${each.key}"
  source_bucket = var.source_bucket
  trigger_topic = each.value.trigger_topic == null ? null : module.topic[each.value.trigger_topic].id
  min_instances = each.value.min_instances
  max_instances = each.value.max_instances
  concurrency   = each.value.concurrency
  env           = local.plain_env
  secret_env = {
    for var_name in each.value.secrets : var_name => google_secret_manager_secret.siyu[var_name].secret_id
  }
  vpc_connector = google_vpc_access_connector.egress.id
}

# Publishing rights, least privilege: only the topics each function writes to.
resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = {
    for pair in flatten([
      for fn, cfg in local.functions : [for topic in cfg.publishes_to : { fn = fn, topic = topic }]
    ]) : "${pair.fn}/${pair.topic}" => pair
  }
  project = var.project_id
  topic   = endswith(each.value.topic, "-dlq") ? module.topic[trimsuffix(each.value.topic, "-dlq")].dead_letter_id : module.topic[each.value.topic].id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${module.function[each.value.fn].service_account_email}"
}

resource "google_project_iam_member" "firestore_users" {
  for_each = local.functions
  project  = var.project_id
  role     = "roles/datastore.user"
  member   = "serviceAccount:${module.function[each.key].service_account_email}"
}

resource "google_firestore_database" "main" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
}

# Processed-event markers and welcome ledger entries expire by themselves.
resource "google_firestore_field" "ttl" {
  for_each   = toset(["dedupe", "welcomes"])
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value
  field      = "expire_at"
  ttl_config {}
}

# WeCom only accepts API calls from trusted IPs: all egress leaves through one static IP.
resource "google_compute_network" "egress" {
  project                 = var.project_id
  name                    = "${local.name}-egress"
  auto_create_subnetworks = false
}

resource "google_vpc_access_connector" "egress" {
  project       = var.project_id
  name          = "${var.env}-siyu-egress"
  region        = var.region
  network       = google_compute_network.egress.name
  ip_cidr_range = "10.8.0.0/28"
}

resource "google_compute_router" "egress" {
  project = var.project_id
  name    = "${local.name}-router"
  region  = var.region
  network = google_compute_network.egress.id
}

resource "google_compute_address" "egress" {
  project = var.project_id
  name    = "${local.name}-egress-ip"
  region  = var.region
}

resource "google_compute_router_nat" "egress" {
  project                            = var.project_id
  name                               = "${local.name}-nat"
  router                             = google_compute_router.egress.name
  region                             = var.region
  nat_ip_allocate_option             = "MANUAL_ONLY"
  nat_ips                            = [google_compute_address.egress.self_link]
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}
