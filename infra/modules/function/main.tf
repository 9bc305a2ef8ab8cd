resource "google_service_account" "fn" {
  project      = var.project_id
  account_id   = substr(replace("${var.prefix}-${var.name}", "_", "-"), 0, 30)
  display_name = "siyu function ${var.name}"
}

data "archive_file" "bundle" {
  type        = "zip"
  source_dir  = var.bundle_dir
  output_path = "${path.root}/.build/${var.name}.zip"
}

# Named by content hash so that a code change redeploys the function.
resource "google_storage_bucket_object" "bundle" {
  name   = "${var.name}/${data.archive_file.bundle.output_md5}.zip"
  bucket = var.source_bucket
  source = data.archive_file.bundle.output_path
}

resource "google_secret_manager_secret_iam_member" "access" {
  for_each  = var.secret_env
  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.fn.email}"
}

resource "google_cloudfunctions2_function" "fn" {
  project  = var.project_id
  name     = "${var.prefix}-${replace(var.name, "_", "-")}"
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = var.name
    source {
      storage_source {
        bucket = var.source_bucket
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.fn.email
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = var.concurrency
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = var.trigger_topic == null ? 10 : 60
    environment_variables            = var.env
    vpc_connector                    = var.vpc_connector
    vpc_connector_egress_settings    = "ALL_TRAFFIC"
    ingress_settings                 = var.trigger_topic == null ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"

    dynamic "secret_environment_variables" {
      for_each = var.secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = var.trigger_topic == null ? [] : [var.trigger_topic]
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = event_trigger.value
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.fn.email
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.access]
}
