variable "project_id" {
  type        = string
  description = "Project of the function."
}

variable "region" {
  type        = string
  description = "Region of the function."
}

variable "name" {
  type        = string
  description = "Folder under functions/ and the Python entry point."
}

variable "prefix" {
  type        = string
  description = "Resource name prefix, e.g. siyu-prod."
}

variable "bundle_dir" {
  type        = string
  description = "Built bundle directory for this function (main.py, siyu/, requirements.txt)."
}

variable "source_bucket" {
  type        = string
  description = "Bucket that receives the zipped bundle."
}

variable "trigger_topic" {
  type        = string
  description = "Name of the Pub/Sub topic that triggers a CloudEvent function (its dead-letter topic is <name>-dlq); null for an HTTP function."
  default     = null
}

variable "min_instances" {
  type        = number
  description = "Instances kept warm."
  default     = 0
}

variable "max_instances" {
  type        = number
  description = "Upper bound on instances."
  default     = 10
}

variable "concurrency" {
  type        = number
  description = "Requests one instance serves at once."
  default     = 10
}

variable "env" {
  type        = map(string)
  description = "Plain environment variables."
  default     = {}
}

variable "secret_env" {
  type        = map(string)
  description = "Environment variable name => Secret Manager secret id."
  default     = {}
}

variable "vpc_connector" {
  type        = string
  description = "VPC connector id for static-IP egress."
}

variable "max_delivery_attempts" {
  type        = number
  description = "Deliveries before Pub/Sub dead-letters a message."
  default     = 5
}

variable "http_invoker" {
  type        = string
  description = "Service account allowed to invoke an HTTP function (the API Gateway's)."
  default     = null
}

variable "pubsub_service_agent" {
  type        = string
  description = "Email of the project's Pub/Sub service agent (acks dead-lettered messages)."
}
