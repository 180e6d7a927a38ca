"""The edge's TLS, judged by a scanner against Mozilla's server-side TLS guidelines."""

import pytest

from tests.support.tls_scan import build_sslyze_image, mozilla_compliance

pytestmark = pytest.mark.stack


def test_tls_meets_mozillas_intermediate_configuration(stack):
    """sslyze finds every protocol, cipher, curve and certificate property Mozilla's
    "intermediate" profile asks for, and nothing it forbids (the stack's own
    certificate trusted, as a visitor trusts a real CA)."""
    build_sslyze_image()
    status, report = mozilla_compliance(stack)
    print(report)
    assert status == 0, f"sslyze --mozilla_config=intermediate failed:\n{report}"
    assert "Compliant" in report
