# Firestore in native mode, TTL on the markers that expire, and every composite index the
# code's queries need (tests/unit/test_infra_agrees.py scans the adapters' queries).

resource "google_firestore_database" "main" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
}

# Processed-event markers, stored callbacks, welcome ledger entries and daily 群发 caps
# expire by themselves.
resource "google_firestore_field" "ttl" {
  for_each   = toset(["dedupe", "inbox", "deliveries", "welcomes", "mass_caps"])
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value
  field      = "expire_at"
  ttl_config {}
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

# FunnelStore counts milestones per channel within a time window.
resource "google_firestore_index" "funnel_by_channel" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "funnel"
  fields {
    field_path = "milestone"
    order      = "ASCENDING"
  }
  fields {
    field_path = "channel"
    order      = "ASCENDING"
  }
  fields {
    field_path = "at"
    order      = "ASCENDING"
  }
}

# FunnelStore counts milestones per staff within a time window.
resource "google_firestore_index" "funnel_by_staff" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "funnel"
  fields {
    field_path = "milestone"
    order      = "ASCENDING"
  }
  fields {
    field_path = "staff"
    order      = "ASCENDING"
  }
  fields {
    field_path = "at"
    order      = "ASCENDING"
  }
}

# FunnelStore counts milestones per city within a time window.
resource "google_firestore_index" "funnel_by_city" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "funnel"
  fields {
    field_path = "milestone"
    order      = "ASCENDING"
  }
  fields {
    field_path = "city"
    order      = "ASCENDING"
  }
  fields {
    field_path = "at"
    order      = "ASCENDING"
  }
}
