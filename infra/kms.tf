# Customer-managed encryption for Pub/Sub: events carry customer identifiers.
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
