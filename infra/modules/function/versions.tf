terraform {
  required_providers {
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.6"
    }
    google = {
      source = "hashicorp/google"
    }
  }
}
