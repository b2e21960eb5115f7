"""Channels: each adapter translates a platform's payloads to IncomingMessage and Reply back."""
