# One call of the root module. dev and prod share this file byte for byte; they differ
# only in terraform.tfvars and the backend prefix given to `terraform init`.
terraform {
  backend "gcs" {}
}

variable "env" {
  type        = string
  description = "Environment name; prefixes every resource (siyu-<env>-…)."
}

variable "project_id" {
  type        = string
  description = "Google Cloud project of this environment."
}

variable "region" {
  type        = string
  description = "Region for functions, Firestore, KMS, the gateway and the egress path."
}

variable "deploy_functions" {
  type        = bool
  description = "false for the first apply of a new environment; true once every secret has a version."
}

variable "gateway_region" {
  type        = string
  description = "Region of the API Gateway (one that offers it; see the root module)."
}

variable "source_bucket" {
  type        = string
  description = "Existing bucket that receives the zipped function bundles."
}

variable "wecom_corp_id" {
  type        = string
  description = "WeCom corp id (the callback receive id)."
}

variable "wecom_agent_id" {
  type        = number
  description = "AgentId of the self-built app that sends staff their follow-up reminders."
}

variable "ops_audience" {
  type        = string
  description = "OAuth client id whose Google ID tokens may call /ops paths."
}

variable "first_admin" {
  type        = string
  description = "WeCom userid of the first ops admin (grants the rest through PUT /ops/members)."
}

variable "ops_login_redirect" {
  type        = string
  description = "https://<gateway host>/ops/login/callback, on the WeCom app's trusted domain."
  default     = ""
}

variable "callback_min_instances" {
  type        = number
  description = "Warm instances for wecom_callback (WeCom allows 1 s to verify, 5 s per event)."
}

variable "card_alert_min_instances" {
  type        = number
  description = "Warm instances for card_alert (card-transaction path, in-memory group index)."
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channels every alert notifies (projects/<p>/notificationChannels/<id>)."
  default     = []
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}

module "siyu" {
  source                   = "../.."
  env                      = var.env
  project_id               = var.project_id
  region                   = var.region
  gateway_region           = var.gateway_region
  deploy_functions         = var.deploy_functions
  source_bucket            = var.source_bucket
  bundle_dir               = "${path.root}/../../../build/functions"
  wecom_corp_id            = var.wecom_corp_id
  wecom_agent_id           = var.wecom_agent_id
  ops_audience             = var.ops_audience
  first_admin              = var.first_admin
  ops_login_redirect       = var.ops_login_redirect
  callback_min_instances   = var.callback_min_instances
  card_alert_min_instances = var.card_alert_min_instances
  notification_channels    = var.notification_channels
}

output "egress_ip" {
  description = "Static egress IP for WeCom's trusted-IP list (企业可信IP)."
  value       = module.siyu.egress_ip
}

output "gateway_url" {
  description = "Public base URL; the WeCom callback URL is <this>/wecom/callback."
  value       = module.siyu.gateway_url
}

output "function_urls" {
  description = "Direct function URLs (invocable only by the gateway or the push identity)."
  value       = module.siyu.function_urls
}
