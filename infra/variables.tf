variable "project_id" {
  type        = string
  description = "Google Cloud project that hosts siyu."
}

variable "region" {
  type        = string
  description = "Region of the functions, Firestore, Cloud Scheduler, the KMS key, Pub/Sub message storage and the egress path. Each of these must be offered there; the list is the Asian regions where all five are (README, Placement)."
  default     = "asia-east2"
  validation {
    condition     = contains(["asia-east1", "asia-east2", "asia-northeast1", "asia-southeast1"], var.region)
    error_message = "region must offer Firestore, Cloud Functions (2nd gen), Cloud Scheduler, Cloud KMS and Pub/Sub message storage: asia-east1, asia-east2, asia-northeast1 or asia-southeast1."
  }
}

variable "gateway_region" {
  type        = string
  description = "Region of the API Gateway. API Gateway is not offered in asia-east2 (Hong Kong); asia-northeast1 (Tokyo) is the nearest region that has it."
  default     = "asia-northeast1"
  validation {
    condition = contains([
      "asia-northeast1", "australia-southeast1", "europe-west1", "europe-west2", "us-east1",
      "us-east4", "us-central1", "us-west2", "us-west3", "us-west4",
    ], var.gateway_region)
    error_message = "gateway_region must be a region where API Gateway runs: asia-northeast1, australia-southeast1, europe-west1, europe-west2, us-east1, us-east4, us-central1, us-west2, us-west3 or us-west4."
  }
}

variable "deploy_functions" {
  type        = bool
  description = "Second stage of a new environment: false creates secrets, topics, Firestore, IAM and the network only; set true once every secret has a version (a function reading a secret with none does not start)."
  default     = false
}

variable "env" {
  type        = string
  description = "Environment name (dev, prod); prefixes resource names."
}

variable "source_bucket" {
  type        = string
  description = "Existing GCS bucket that holds the function source bundles built by `make build`."
}

variable "bundle_dir" {
  type        = string
  description = "Directory with one built bundle per function (build/functions/<name>)."
}

variable "wecom_corp_id" {
  type        = string
  description = "WeCom corp id (receive id of callbacks); not a secret."
}

variable "wecom_agent_id" {
  type        = number
  description = "AgentId of the self-built app (自建应用) that sends follow-up reminders."
}

variable "callback_min_instances" {
  type        = number
  description = "Warm instances for wecom_callback: WeCom allows 1 s for URL verification and 5 s per event."
  default     = 1
}

variable "card_alert_min_instances" {
  type        = number
  description = "Warm instances for card_alert: it answers on the card-transaction path and keeps the group index in memory."
  default     = 1
}

variable "group_join_limit" {
  type        = number
  description = "A benefit group has room while its member count is below this (WeCom QR joins stop at 200)."
  default     = 200
}

variable "group_max_distance_m" {
  type        = number
  description = "Card-alert invites go to the nearest group with room within this many metres before falling back to the merchant's city."
  default     = 5000
}

variable "invite_cooldown_days" {
  type        = number
  description = "No new card-alert invite for a customer invited within this many days."
  default     = 7
}

variable "ops_audience" {
  type        = string
  description = "OAuth client id that scripts and the `siyu` CLI request Google ID tokens for; ops_api accepts only tokens with this audience (SIYU_OPS_AUDIENCE)."
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channels (projects/<project>/notificationChannels/<id>, created once in the console: e-mail, SMS, PagerDuty) that every alert policy notifies."
  default     = []
  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "Each notification channel is projects/<project>/notificationChannels/<id>."
  }
}

variable "alert_5xx_ratio" {
  type        = number
  description = "Alert when a function answers 5xx to more than this share of its requests over 5 minutes."
  default     = 0.05
  validation {
    condition     = var.alert_5xx_ratio > 0 && var.alert_5xx_ratio < 1
    error_message = "alert_5xx_ratio is a share between 0 and 1."
  }
}

variable "alert_callback_p99_ms" {
  type        = number
  description = "Alert when the WeCom callback's p99 latency stays above this many milliseconds for 5 minutes (WeCom gives up at 5000)."
  default     = 2000
  validation {
    condition     = var.alert_callback_p99_ms > 0 && var.alert_callback_p99_ms < 5000
    error_message = "alert_callback_p99_ms must be below WeCom's 5000 ms deadline."
  }
}

variable "firestore_daily_backup_days" {
  type        = number
  description = "Days each daily Firestore backup is kept (Firestore allows a daily schedule at most 7)."
  default     = 7
  validation {
    condition     = var.firestore_daily_backup_days >= 1 && var.firestore_daily_backup_days <= 7
    error_message = "A daily Firestore backup schedule keeps backups 1 to 7 days."
  }
}

variable "firestore_weekly_backup_weeks" {
  type        = number
  description = "Weeks each weekly (Sunday) Firestore backup is kept (Firestore allows at most 14)."
  default     = 14
  validation {
    condition     = var.firestore_weekly_backup_weeks >= 1 && var.firestore_weekly_backup_weeks <= 14
    error_message = "A weekly Firestore backup schedule keeps backups 1 to 14 weeks."
  }
}

variable "first_admin" {
  type        = string
  description = "The WeCom userid of the first ops admin: admin over every branch until a grant for them is stored, so that a fresh deployment can grant the rest."
  validation {
    condition     = can(regex("^[A-Za-z0-9_.@-]{1,64}$", var.first_admin))
    error_message = "A WeCom userid (1-64 letters, digits, _ . @ -)."
  }
}

variable "ops_login_redirect" {
  type        = string
  description = "https://<gateway host>/ops/login/callback; its domain must be the WeCom app's trusted domain (98152)."
  default     = ""
}

variable "audit_retention_days" {
  type        = number
  description = "How long audit log entries are kept before Firestore's TTL removes them."
  default     = 1825
  validation {
    condition     = var.audit_retention_days >= 365
    error_message = "Keep the audit log at least a year."
  }
}

variable "retention_days" {
  type        = number
  default     = 365
  description = "A customer whose every relation ended this many days ago is erased (PIPL art. 19)."
  validation {
    condition     = var.retention_days >= 30
    error_message = "Keep customers at least 30 days after their last relation ended."
  }
}
