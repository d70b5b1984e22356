"""orchestration."""

# materialisation metadata key of a step that did nothing on purpose; its value says why, and the
# step is reported as "skipped: <why>" instead of "succeeded" (happyclient.pipeline)
SKIPPED_METADATA = "happyclient/skipped"
