output "id" {
  description = "Topic id."
  value       = google_pubsub_topic.main.id
}

output "dead_letter_id" {
  description = "Dead-letter topic id."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_ops_subscription" {
  description = "The <name>-dlq-ops subscription ops read dead letters through (name)."
  value       = google_pubsub_subscription.dead_letter_ops.name
}
