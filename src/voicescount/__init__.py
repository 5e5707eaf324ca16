"""VoicesCount: citizen-generated data for SDG monitoring."""

__version__ = "0.1.0"
