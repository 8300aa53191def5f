"""Helpers for testing code that uses quota_kit, and for testing new backends.

* :class:`~quota_kit.clock.FakeClock` moves time by hand, so tests never sleep.
* :class:`StorageBackendConformance` is the suite every backend must pass. A
  third-party backend runs it by subclassing and providing a ``backend`` fixture
  that returns a fresh, empty instance::

      import pytest
      from quota_kit.testing import StorageBackendConformance

      class TestMyBackend(StorageBackendConformance):
          @pytest.fixture
          def backend(self):
              return MyBackend(...)

This module needs pytest, which is part of the ``dev`` extra.
"""

from ..clock import FakeClock
from .conformance import StorageBackendConformance

__all__ = ["FakeClock", "StorageBackendConformance"]
