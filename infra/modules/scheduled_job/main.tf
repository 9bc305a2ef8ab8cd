# A Cloud Scheduler job that publishes a tick to a topic; the tick's consumer decides
# what is due, so a late or repeated tick changes nothing twice.
resource "google_cloud_scheduler_job" "job" {
  project     = var.project_id
  region      = var.region
  name        = var.name
  description = var.description
  schedule    = var.schedule
  time_zone   = "Asia/Shanghai"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "120s"
  }

  pubsub_target {
    topic_name = var.topic_id
    data       = base64encode(jsonencode({ job = var.name }))
  }
}
