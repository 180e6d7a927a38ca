"""The production stack boots healthy and answers through NGINX."""

import pytest
import requests

pytestmark = pytest.mark.stack


def test_readyz_through_nginx(stack):
    response = requests.get(f"{stack.base_url}/readyz", verify=str(stack.ca_file), timeout=10)
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "channel_layer": "ok"}
