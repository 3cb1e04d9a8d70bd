# IAM Roles Anywhere: the worker trades its X.509 certificate for short-lived credentials of one role.
# No AWS access key exists anywhere in the app.

locals {
  own_ca                 = var.ca_certificate_pem != ""
  ca_pem                 = local.own_ca ? var.ca_certificate_pem : tls_self_signed_cert.demo_ca[0].cert_pem
  client_certificate_pem = local.own_ca ? var.client_certificate_pem : tls_locally_signed_cert.client[0].cert_pem
  client_private_key_pem = local.own_ca ? var.client_private_key_pem : tls_private_key.client[0].private_key_pem
}

# --- demo CA and client certificate (only when no CA is supplied; the keys end up in the state) ---
resource "tls_private_key" "demo_ca" {
  count       = local.own_ca ? 0 : 1
  algorithm   = "ECDSA"
  ecdsa_curve = "P384"
}

# Short-lived: a leaked demo CA key is worth little for long. An apply in its last 30 days makes a new CA, and with
# it a new client certificate (DEPLOY.md, "Certificate rotation"): apply at least monthly.
resource "tls_self_signed_cert" "demo_ca" {
  count                 = local.own_ca ? 0 : 1
  private_key_pem       = tls_private_key.demo_ca[0].private_key_pem
  is_ca_certificate     = true
  validity_period_hours = var.demo_ca_validity_hours
  early_renewal_hours   = 720
  allowed_uses          = ["cert_signing", "crl_signing", "digital_signature"]

  subject {
    common_name  = "${var.project_name} demo CA"
    organization = var.project_name
  }
}

resource "tls_private_key" "client" {
  count       = local.own_ca ? 0 : 1
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "tls_cert_request" "client" {
  count           = local.own_ca ? 0 : 1
  private_key_pem = tls_private_key.client[0].private_key_pem

  subject {
    common_name  = var.client_common_name
    organization = var.project_name
  }
}

resource "tls_locally_signed_cert" "client" {
  count                 = local.own_ca ? 0 : 1
  cert_request_pem      = tls_cert_request.client[0].cert_request_pem
  ca_private_key_pem    = tls_private_key.demo_ca[0].private_key_pem
  ca_cert_pem           = tls_self_signed_cert.demo_ca[0].cert_pem
  validity_period_hours = var.client_cert_validity_hours
  early_renewal_hours   = 720
  allowed_uses          = ["client_auth", "digital_signature"]
}

# --- Roles Anywhere ---
resource "aws_rolesanywhere_trust_anchor" "this" {
  name    = "${var.project_name}-trust-anchor"
  enabled = true

  source {
    source_type = "CERTIFICATE_BUNDLE"
    source_data {
      x509_certificate_data = local.ca_pem
    }
  }
}

data "aws_iam_policy_document" "probe_trust" {
  statement {
    sid     = "RolesAnywhereFromOurAnchorAndSubjectOnly"
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]

    principals {
      type        = "Service"
      identifiers = ["rolesanywhere.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_rolesanywhere_trust_anchor.this.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalTag/x509Subject/CN"
      values   = [var.client_common_name]
    }
  }
}

resource "aws_iam_role" "probe" {
  name                 = "${var.project_name}-probe"
  description          = "Assumed by the monitor's worker through IAM Roles Anywhere"
  assume_role_policy   = data.aws_iam_policy_document.probe_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "probe" {
  statement {
    sid       = "ReadTheProbeSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.probe.arn]
  }

  dynamic "statement" {
    for_each = var.secrets_manager_write_check ? [1] : []
    content {
      sid       = "WriteTheProbeSecret"
      actions   = ["secretsmanager:PutSecretValue"]
      resources = [aws_secretsmanager_secret.probe.arn]
    }
  }

  # GetCallerIdentity needs no permission, but stating it documents what the probe calls.
  statement {
    sid       = "WhoAmI"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "probe" {
  name   = "probe-least-privilege"
  role   = aws_iam_role.probe.id
  policy = data.aws_iam_policy_document.probe.json
}

resource "aws_rolesanywhere_profile" "this" {
  name             = "${var.project_name}-profile"
  enabled          = true
  role_arns        = [aws_iam_role.probe.arn]
  duration_seconds = 3600
}
