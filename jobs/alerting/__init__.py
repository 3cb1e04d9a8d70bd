"""Alerting: deciding incidents from stored checks and telling people about them.

- `rule`: the open/resolve rule and the root cause, pure functions.
"""
