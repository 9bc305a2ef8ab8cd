variable "project_id" {
  type        = string
  description = "Project of the job."
}

variable "region" {
  type        = string
  description = "Cloud Scheduler location."
}

variable "name" {
  type        = string
  description = "Job name."
}

variable "description" {
  type        = string
  description = "What the tick starts."
}

variable "schedule" {
  type        = string
  description = "Unix cron expression, evaluated in Asia/Shanghai."
}

variable "topic_id" {
  type        = string
  description = "Topic that receives the tick."
}
