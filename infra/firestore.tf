# Firestore in native mode, TTL on the markers that expire, and every composite index the
# code's queries need (tests/unit/test_infra_agrees.py scans the adapters' queries).

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
