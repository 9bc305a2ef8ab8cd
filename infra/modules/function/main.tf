# One 2nd-gen function with its own service account. HTTP functions are invoked only by
# the API Gateway's identity; CloudEvent functions only by their Pub/Sub push identity.

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
    timeout_seconds                  = local.triggered ? 60 : 10
    environment_variables            = var.env
    vpc_connector                    = var.vpc_connector
    vpc_connector_egress_settings    = "ALL_TRAFFIC"
    # checkov:skip=CKV_GCP_124: API Gateway and Pub/Sub push reach the function from outside the VPC; invocation still needs IAM (run.invoker), granted below to one identity only
    ingress_settings = "ALLOW_ALL"

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

  depends_on = [google_secret_manager_secret_iam_member.access]
}

# Who may invoke: the API Gateway for HTTP functions, the push identity for CloudEvent ones.
resource "google_cloud_run_service_iam_member" "invoker" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.fn.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${local.triggered ? google_service_account.fn.email : var.http_invoker}"
}

# The topic arrives by name, known when planning: `count` may depend on it, and the ids are
# built here (the caller orders this module after the topics with depends_on).
locals {
  triggered      = var.trigger_topic != null
  topic_id       = local.triggered ? "projects/${var.project_id}/topics/${var.trigger_topic}" : null
  dead_letter_id = local.triggered ? "${local.topic_id}-dlq" : null
}

# CloudEvent functions are fed by a push subscription rather than an Eventarc trigger: only
# a subscription carries the dead-letter policy. The framework reads the topic from the
# push path and hands the function a CloudEvent, exactly as on the local stack.
resource "google_pubsub_subscription" "push" {
  count                      = local.triggered ? 1 : 0
  project                    = var.project_id
  name                       = "${var.prefix}-${replace(var.name, "_", "-")}-push"
  topic                      = local.topic_id
  ack_deadline_seconds       = 60
  enable_message_ordering    = true
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.fn.service_config[0].uri}/${local.topic_id}"
    # Cloud Run accepts an ID token whose audience is the service's URL; without one, Pub/Sub
    # would use the push endpoint, path included.
    oidc_token {
      service_account_email = google_service_account.fn.email
      audience              = google_cloudfunctions2_function.fn.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = local.dead_letter_id
    max_delivery_attempts = var.max_delivery_attempts
  }
}

# Pub/Sub mints the push identity's ID tokens. Projects whose Pub/Sub service agent dates
# from before 2021-04-08 lack this permission by default; granting it on the one account
# works for every project.
resource "google_service_account_iam_member" "push_token_creator" {
  count              = local.triggered ? 1 : 0
  service_account_id = google_service_account.fn.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${var.pubsub_service_agent}"
}

# Pub/Sub acknowledges a dead-lettered message on the source subscription itself.
resource "google_pubsub_subscription_iam_member" "dead_letter_ack" {
  count        = local.triggered ? 1 : 0
  project      = var.project_id
  subscription = google_pubsub_subscription.push[0].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent}"
}
