# Firestore in native mode, TTL on the markers that expire, and every composite index the
# code's queries need (tests/infra/test_infra_agrees.py scans the adapters' queries).

resource "google_firestore_database" "main" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"

  # The bank's customer records: reads back to any second of the last 7 days, and neither
  # a console click nor `terraform destroy` deletes the database.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  # Encrypted with the bank's key (kms.tf); set at creation, a database cannot change it.
  cmek_config {
    kms_key_name = google_kms_crypto_key.firestore.id
  }
  depends_on = [google_kms_crypto_key_iam_member.firestore]
}

# Backups outlive a bad write found late: daily ones kept a week, weekly ones 14 weeks
# (Firestore allows one schedule of each, at most 7 days and 14 weeks).
resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "${var.firestore_daily_backup_days * 86400}s"
  daily_recurrence {}
}

resource "google_firestore_backup_schedule" "weekly" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "${var.firestore_weekly_backup_weeks * 7 * 86400}s"
  weekly_recurrence {
    day = "SUNDAY"
  }
}

# Processed-event markers, stored callbacks, welcome ledger entries and daily 群发 caps
# expire by themselves.
resource "google_firestore_field" "ttl" {
  for_each   = toset(["dedupe", "inbox", "deliveries", "welcomes", "mass_caps", "ops_sessions", "ops_idempotency"])
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value
  field      = "expire_at"
  ttl_config {}
}

# The inbox's `event` is the event's JSON text, read back whole and never queried: no
# single-field index, so the callback's write does not pay for one.
resource "google_firestore_field" "inbox_event_unindexed" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "inbox"
  field      = "event"
  index_config {}
}

# InboxRepo.unpublished: stored callbacks not yet published, oldest first.
resource "google_firestore_index" "inbox_unpublished" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "inbox"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "created_at"
    order      = "ASCENDING"
  }
}

# FollowupRepo.due: the tick's open tasks that are due, oldest first.
resource "google_firestore_index" "followups_due" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "followups"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "due_at"
    order      = "ASCENDING"
  }
}

# FollowupRepo.for_staff: GET /ops/followups?staff=…&status=…
resource "google_firestore_index" "followups_by_staff" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "followups"
  fields {
    field_path = "staff_userid"
    order      = "ASCENDING"
  }
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "due_at"
    order      = "ASCENDING"
  }
}

# FollowupRepo.open_of: a relation's revisits, cancelled when the relation ends.
resource "google_firestore_index" "followups_of_relation" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "followups"
  fields {
    field_path = "external_userid"
    order      = "ASCENDING"
  }
  fields {
    field_path = "staff_userid"
    order      = "ASCENDING"
  }
  fields {
    field_path = "reason"
    order      = "ASCENDING"
  }
}

# FollowupRepo.open_journey: a journey's follow-ups, cancelled when it completes.
resource "google_firestore_index" "followups_of_journey" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "followups"
  fields {
    field_path = "bank_customer_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "journey"
    order      = "ASCENDING"
  }
}

# CampaignRunRepo.for_campaign: GET /ops/campaigns/{id}/runs, newest first.
resource "google_firestore_index" "campaign_runs_by_campaign" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "campaign_runs"
  fields {
    field_path = "campaign_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

# FunnelStore reads a dimension's daily tallies for a window of days (the funnel report
# and the console's trend): one query, days × values × shards small documents.
resource "google_firestore_index" "funnel_days_by_day" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "funnel_days"
  fields {
    field_path = "by"
    order      = "ASCENDING"
  }
  fields {
    field_path = "day"
    order      = "ASCENDING"
  }
}

# -- the audit log: its own database, so that IAM can make it append-only -------------------

# Every ops change (who, when, route, target, before → after). The functions' service
# accounts may create and read entries here and nothing else (iam.tf of this file below);
# TTL removes an entry after var.audit_retention_days (its expire_at).
resource "google_firestore_database" "audit" {
  project                           = var.project_id
  name                              = "siyu-audit"
  location_id                       = var.region
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  cmek_config {
    kms_key_name = google_kms_crypto_key.firestore.id
  }
  depends_on = [google_kms_crypto_key_iam_member.firestore]
}

resource "google_firestore_field" "audit_ttl" {
  project    = var.project_id
  database   = google_firestore_database.audit.name
  collection = "audit"
  field      = "expire_at"
  ttl_config {}
}

# AuditRepo.query: by actor and/or target, newest first, within a window.
resource "google_firestore_index" "audit_by_actor" {
  project    = var.project_id
  database   = google_firestore_database.audit.name
  collection = "audit"
  fields {
    field_path = "actor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "at"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "audit_by_target" {
  project    = var.project_id
  database   = google_firestore_database.audit.name
  collection = "audit"
  fields {
    field_path = "target"
    order      = "ASCENDING"
  }
  fields {
    field_path = "at"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "audit_by_actor_and_target" {
  project    = var.project_id
  database   = google_firestore_database.audit.name
  collection = "audit"
  fields {
    field_path = "actor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "target"
    order      = "ASCENDING"
  }
  fields {
    field_path = "at"
    order      = "DESCENDING"
  }
}

# Appending without changing: create, get and list on the audit database, no update or
# delete (Firestore's predefined roles all carry update and delete).
resource "google_project_iam_custom_role" "audit_appender" {
  project     = var.project_id
  role_id     = "siyuAuditAppender_${replace(var.env, "-", "_")}"
  title       = "siyu audit log appender (${var.env})"
  description = "Create and read entries of the append-only audit log; never update or delete."
  permissions = [
    "datastore.databases.getMetadata",
    "datastore.entities.create",
    "datastore.entities.get",
    "datastore.entities.list",
    "datastore.indexes.list",
  ]
}
