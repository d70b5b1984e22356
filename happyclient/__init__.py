"""happyclient."""
