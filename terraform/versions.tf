terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.20"
    }
    digitalocean = {
      source  = "digitalocean/digitalocean"
      version = "~> 2.68"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1"
    }
  }

  # Remote state, encrypted and locked: the state holds the demo CA's and the client's private keys and the
  # database passwords, so it lives in a private bucket with server-side encryption, never on a laptop or in
  # git. Which bucket is given at init (partial configuration, DEPLOY.md):
  #   terraform init -backend-config=backend.hcl
  # use_lockfile: S3's own lock file (Terraform 1.10+), so two applies never write the state at once.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

# Credentials come from the environment, never from files in this folder:
#   DIGITALOCEAN_TOKEN, SPACES_ACCESS_KEY_ID, SPACES_SECRET_ACCESS_KEY (DigitalOcean),
#   AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of the deploying operator (AWS).
provider "digitalocean" {}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# CloudFront's certificate and web ACL must live in us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = {
    project    = var.project_name
    managed_by = "terraform"
  }
}
