"""The DRfC log collector script drtui uploads to a DRfC host."""
