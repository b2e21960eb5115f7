"""Fixtures for the channel adapters: an app over a private knowledge base copy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from channels.web.app import create_app


@pytest.fixture
def web(assistant, settings_for, kb_copy):
    settings = settings_for(kb_copy, cors_origins=("https://phuong-binhan.example.vn",))
    app = create_app(settings, assistant)
    with TestClient(app) as client:
        yield client
