"""Every backend passes the same storage conformance suite."""

import pytest

from quota_kit import StorageBackend
from quota_kit.testing import StorageBackendConformance
from tests.conftest import BackendFactory


class TestConformance(StorageBackendConformance):
    @pytest.fixture
    def backend(self, backend_factory: BackendFactory) -> StorageBackend:
        return backend_factory.new()
