# The secret the Secrets Manager probe reads (and, with the write check, rewrites). It holds a canary value,
# not a credential.

resource "aws_secretsmanager_secret" "probe" {
  #checkov:skip=CKV_AWS_149:A canary with no sensitive content; the AWS-managed key avoids a KMS key and its grants.
  #checkov:skip=CKV2_AWS_57:Nothing to rotate: the value is a canary the probe only reads (or rewrites itself).
  name                    = "${var.project_name}/probe"
  description             = "Canary read by the hybrid monitor's Secrets Manager probe"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "probe" {
  secret_id     = aws_secretsmanager_secret.probe.id
  secret_string = jsonencode({ canary = "hybrid-monitor", purpose = "integration probe" })

  # The write check updates the value; Terraform must not fight it.
  lifecycle {
    ignore_changes = [secret_string]
  }
}
