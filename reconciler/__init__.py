"""reconciler: lifecycle-as-code for OVHcloud services."""

__version__ = "0.1.0.dev0"
