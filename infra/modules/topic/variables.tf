variable "project_id" {
  type        = string
  description = "Project of the topic."
}

variable "name" {
  type        = string
  description = "Topic name; the dead-letter topic is <name>-dlq."
}
