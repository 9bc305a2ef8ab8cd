terraform {
  backend "gcs" {}
}

variable "project_id" {
  type        = string
  description = "Google Cloud project for dev."
}

variable "source_bucket" {
  type        = string
  description = "Bucket for function bundles."
}

variable "wecom_corp_id" {
  type        = string
  description = "WeCom corp id."
}

variable "callback_min_instances" {
  type        = number
  description = "Warm instances for wecom_callback."
}

provider "google" {
  project = var.project_id
}

module "siyu" {
  source                 = "../.."
  env                    = "dev"
  project_id             = var.project_id
  source_bucket          = var.source_bucket
  bundle_dir             = "${path.root}/../../../build/functions"
  wecom_corp_id          = var.wecom_corp_id
  callback_min_instances = var.callback_min_instances
}

output "egress_ip" {
  description = "Static egress IP for WeCom's trusted-IP list."
  value       = module.siyu.egress_ip
}

output "function_urls" {
  description = "HTTP function URLs."
  value       = module.siyu.function_urls
}
