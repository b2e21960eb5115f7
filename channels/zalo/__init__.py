"""Zalo Official Account channel: signed webhook events in, customer-service messages out."""
