variable "project_id" {
  type        = string
  description = "Google Cloud project that hosts siyu."
}

variable "region" {
  type        = string
  description = "Region for functions, the VPC connector and Cloud NAT."
  default     = "asia-east2"
}

variable "env" {
  type        = string
  description = "Environment name (dev, prod); prefixes resource names."
}

variable "source_bucket" {
  type        = string
  description = "Existing GCS bucket that holds the function source bundles built by `make build`."
}

variable "bundle_dir" {
  type        = string
  description = "Directory with one built bundle per function (build/functions/<name>)."
}

variable "wecom_corp_id" {
  type        = string
  description = "WeCom corp id (receive id of callbacks); not a secret."
}

variable "callback_min_instances" {
  type        = number
  description = "Warm instances for wecom_callback: WeCom allows 1 s for URL verification and 5 s per event."
  default     = 1
}
