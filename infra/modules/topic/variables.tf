variable "project_id" {
  type        = string
  description = "Project of the topic."
}

variable "name" {
  type        = string
  description = "Topic name; the dead-letter topic is <name>-dlq."
}

variable "region" {
  type        = string
  description = "The one region where the topic's messages are stored (that of its CMEK key)."
}

variable "kms_key_id" {
  type        = string
  description = "Cloud KMS key that encrypts the topic and its dead-letter topic (CMEK)."
}

variable "pubsub_service_agent" {
  type        = string
  description = "Email of the project's Pub/Sub service agent, which forwards dead letters."
}
