resource "google_pubsub_topic" "main" {
  project = var.project_id
  name    = var.name
}

# Every topic has a dead-letter topic; subscriptions and triggers route there after
# max_delivery_attempts, and handlers send poison messages there themselves.
resource "google_pubsub_topic" "dead_letter" {
  project = var.project_id
  name    = "${var.name}-dlq"
}

resource "google_pubsub_subscription" "dead_letter_ops" {
  project                    = var.project_id
  name                       = "${var.name}-dlq-ops"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
}
