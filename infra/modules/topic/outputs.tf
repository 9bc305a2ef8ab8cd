output "id" {
  description = "Topic id."
  value       = google_pubsub_topic.main.id
}

output "dead_letter_id" {
  description = "Dead-letter topic id."
  value       = google_pubsub_topic.dead_letter.id
}
