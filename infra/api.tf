# API Gateway: the one public entry point, serving infra/api/openapi.yaml. It calls each
# HTTP function as its own service account; ops paths also need a Google ID token.
resource "google_service_account" "api_gateway" {
  project      = var.project_id
  account_id   = "${local.name}-gateway"
  display_name = "siyu API Gateway"
}

resource "google_api_gateway_api" "siyu" {
  provider = google-beta
  project  = var.project_id
  api_id   = local.name
}

resource "google_api_gateway_api_config" "siyu" {
  count                = var.deploy_functions ? 1 : 0 # it needs the functions' URLs
  provider             = google-beta
  project              = var.project_id
  api                  = google_api_gateway_api.siyu.api_id
  api_config_id_prefix = "${local.name}-"

  openapi_documents {
    document {
      path = "openapi.yaml"
      contents = base64encode(templatefile("${path.module}/api/openapi.yaml", {
        wecom_callback_url = module.function["wecom_callback"].url
        card_alert_url     = module.function["card_alert"].url
        biz_events_url     = module.function["biz_events"].url
        ops_api_url        = module.function["ops_api"].url
        ops_console_url    = module.function["ops_console"].url
      }))
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.api_gateway.email
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "siyu" {
  count      = var.deploy_functions ? 1 : 0
  provider   = google-beta
  project    = var.project_id
  region     = var.gateway_region # not var.region: API Gateway is not in every region
  api_config = google_api_gateway_api_config.siyu[0].id
  gateway_id = local.name
}
