resource "google_pubsub_topic" "main" {
  project      = var.project_id
  name         = var.name
  kms_key_name = var.kms_key_id

  # Topics are global; messages are kept only in the region of the functions and of the
  # regional CMEK key, so the key is never used across regions (docs: pubsub/docs/cmek,
  # pubsub/docs/resource-location-restriction).
  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }
}

# Every topic has a dead-letter topic; subscriptions route there after
# max_delivery_attempts, and handlers send poison messages there themselves.
resource "google_pubsub_topic" "dead_letter" {
  project      = var.project_id
  name         = "${var.name}-dlq"
  kms_key_name = var.kms_key_id

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }
}

resource "google_pubsub_subscription" "dead_letter_ops" {
  project                    = var.project_id
  name                       = "${var.name}-dlq-ops"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
}

# Pub/Sub itself forwards exhausted messages: it must publish to the dead-letter topic.
resource "google_pubsub_topic_iam_member" "dead_letter_forwarder" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.pubsub_service_agent}"
}
