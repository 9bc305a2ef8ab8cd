# Customer-managed encryption (CMEK) with the bank's keys, in the deployment's region:
# Pub/Sub (events carry customer identifiers) and Firestore (everything siyu keeps).
resource "google_kms_key_ring" "siyu" {
  project  = var.project_id
  name     = "${local.name}-keys"
  location = var.region
}

resource "google_kms_crypto_key" "pubsub" {
  name            = "pubsub"
  key_ring        = google_kms_key_ring.siyu.id
  rotation_period = "7776000s" # 90 days
  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "pubsub" {
  crypto_key_id = google_kms_crypto_key.pubsub.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${local.pubsub_service_agent}"
}

# Firestore's data at rest, both databases. The key must sit in the database's location
# (var.region); Firestore's service agent is the only identity that may use it.
resource "google_kms_crypto_key" "firestore" {
  name            = "firestore"
  key_ring        = google_kms_key_ring.siyu.id
  rotation_period = "7776000s" # 90 days; earlier versions stay to decrypt older data
  purpose         = "ENCRYPT_DECRYPT"
  lifecycle {
    prevent_destroy = true
  }
}

resource "google_project_service_identity" "firestore" {
  provider = google-beta
  project  = var.project_id
  service  = "firestore.googleapis.com"
}

resource "google_kms_crypto_key_iam_member" "firestore" {
  crypto_key_id = google_kms_crypto_key.firestore.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_project_service_identity.firestore.email}"
}
