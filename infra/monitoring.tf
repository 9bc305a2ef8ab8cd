# What production tells the on-call engineer. Every alert notifies var.notification_channels
# and carries its runbook (README, "Alerts"). 2nd-gen functions run as Cloud Run services
# named siyu-<env>-<function>, so their request metrics are Cloud Run's.

locals {
  # Cloud Run service of each function: the function's name (modules/function).
  callback_service = "${local.name}-wecom-callback"
  service_filter   = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = starts_with(\"${local.name}-\")"
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "${local.name}: messages dead-lettered"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "a <topic>-dlq-ops subscription holds messages"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.labels.subscription_id = monitoring.regex.full_match(\".*-dlq-ops\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A message failed 5 times or was refused as poison and now waits in a dead-letter subscription. `siyu dlq list <topic>` shows each with its reason; fix the cause, then `siyu dlq replay <topic>` (README, Alerts)."
  }
}

resource "google_monitoring_alert_policy" "server_errors" {
  project               = var.project_id
  display_name          = "${local.name}: function 5xx ratio above ${var.alert_5xx_ratio * 100}%"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "5xx / all requests per function over 5 minutes"
    condition_threshold {
      filter             = "${local.service_filter} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "${local.service_filter} AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_5xx_ratio
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A function answers 5xx to more than ${var.alert_5xx_ratio * 100}% of its requests: WeCom and Pub/Sub retry, partners see failures. Read the function's ERROR logs by correlation_id (README, Alerts)."
  }
}

resource "google_monitoring_alert_policy" "callback_latency" {
  project               = var.project_id
  display_name          = "${local.name}: WeCom callback p99 above ${var.alert_callback_p99_ms} ms"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels

  conditions {
    display_name = "wecom_callback request latency p99"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${local.callback_service}\" AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_callback_p99_ms
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "WeCom waits 5 s for the callback's answer and retries after; at 2 s the margin is gone. Check cold starts (min instances), Firestore latency and Pub/Sub publish errors (README, Alerts)."
  }
}

resource "google_monitoring_alert_policy" "scheduler_failures" {
  project               = var.project_id
  display_name          = "${local.name}: Cloud Scheduler job failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "a scheduler attempt logged an error"
    condition_matched_log {
      filter = "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=~\"^${local.name}-\" AND severity>=ERROR"
    }
  }

  # A log-match condition notifies per matching entry: at most once per 5 minutes.
  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A tick (campaigns, follow-ups, inbox sweep) could not be published after its retries. Ticks are idempotent: the next one catches up; if failures repeat, check the topic's IAM and the scheduler's logs (README, Alerts)."
  }
}
