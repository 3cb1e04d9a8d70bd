"""Every environment variable the product reads, validated in one place, one module per concern.

General settings that are wrong stop the process with a one-line `SettingsError`. A service whose own
settings are absent or wrong is left unconfigured (`None`) and the reason kept in `Settings.problems`, so the
web still starts and shows that row as "not configured" with the reason. No message ever holds a secret.

- `general`: `Settings` (everything a process reads) and `load`; the probing cadence, the web, retention.
- `alerting`: when incidents open and resolve, and where notifications go.
- `access`: who may see the operator's pages (AUTH_MODE, the session, the OIDC provider, bearer tokens).
- `alerting`: when incidents open and resolve, where notifications go, reminders.
- `edge`: what the web trusts of the proxies in front of it (ORIGIN_SECRET, TRUSTED_PROXY_HOPS).
- `windows`: the recurring maintenance windows (MAINTENANCE_WINDOWS).
- `postgres`, `valkey`, `aws`: each service's settings, left unconfigured with a reason when wrong.
- `spaces`: the Spaces bucket `python -m dashapp publish-assets` uploads to (`load_spaces`).
- `parse`: reading one variable, and `SettingsError`.
"""

# Re-exported: callers import every name from `jobs.settings`.
from jobs.settings.access import AccessSettings as AccessSettings
from jobs.settings.alerting import AlertSettings as AlertSettings
from jobs.settings.aws import AwsSettings as AwsSettings
from jobs.settings.edge import EdgeSettings as EdgeSettings
from jobs.settings.general import Settings as Settings
from jobs.settings.general import load as load
from jobs.settings.parse import SettingsError as SettingsError
from jobs.settings.postgres import PostgresSettings as PostgresSettings
from jobs.settings.spaces import SpacesSettings as SpacesSettings
from jobs.settings.spaces import load_spaces as load_spaces
from jobs.settings.valkey import ValkeySettings as ValkeySettings
