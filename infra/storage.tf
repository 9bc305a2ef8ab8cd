# The content library (POST /ops/media): images, videos and files ops upload once. siyu
# uploads them to WeCom as temporary media (valid 3 days, 90253) when a message needs them
# and again before they expire, so the bytes must stay here.

resource "google_storage_bucket" "media" {
  project                     = var.project_id
  name                        = "${var.project_id}-${local.name}-media"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced" # WeCom receives the bytes from siyu, never a URL
  force_destroy               = false

  versioning {
    enabled = true # an overwritten or deleted asset can be restored
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.storage.id
  }

  logging {
    log_bucket = google_storage_bucket.media_access_logs.name
  }

  depends_on = [google_kms_crypto_key_iam_member.storage]
}

# Access logs of the media bucket; a log bucket logging itself would loop.
resource "google_storage_bucket" "media_access_logs" {
  # checkov:skip=CKV_GCP_62: the access-log bucket itself; logging it would loop
  project                     = var.project_id
  name                        = "${var.project_id}-${local.name}-media-logs"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.storage.id
  }

  lifecycle_rule {
    condition {
      age = 365
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.storage]
}

resource "google_kms_crypto_key" "storage" {
  name            = "storage"
  key_ring        = google_kms_key_ring.siyu.id
  rotation_period = "7776000s" # 90 days
  lifecycle {
    prevent_destroy = true
  }
}

data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

resource "google_kms_crypto_key_iam_member" "storage" {
  crypto_key_id = google_kms_crypto_key.storage.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

locals {
  # Who touches the library: ops_api adds assets; the senders read them to upload to WeCom.
  media_access = {
    ops_api           = ["roles/storage.objectCreator", "roles/storage.objectViewer"]
    wecom_callback    = ["roles/storage.objectViewer"]
    on_wecom_event    = ["roles/storage.objectViewer"]
    on_campaign_batch = ["roles/storage.objectViewer"]
    on_content_upkeep = ["roles/storage.objectViewer"]
  }
}

resource "google_storage_bucket_iam_member" "media" {
  for_each = var.deploy_functions ? {
    for pair in flatten([
      for fn, roles in local.media_access : [for role in roles : { fn = fn, role = role }]
    ]) : "${pair.fn}/${pair.role}" => pair
  } : {}
  bucket = google_storage_bucket.media.name
  role   = each.value.role
  member = "serviceAccount:${module.function[each.value.fn].service_account_email}"
}
