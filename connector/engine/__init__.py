"""The sync engine: Revont pages in, idempotent CRM writes out, state checkpointed per page.

:mod:`.sync` runs adapters (leases, windows, late artifacts, reconciliation,
failures, resync); :mod:`.records` is the record path of one page;
:mod:`.model` holds the value types.
"""

from connector.engine.model import (
    STREAMS,
    Destination,
    EngineOptions,
    RunReport,
    fingerprint,
)
from connector.engine.sync import SyncEngine

__all__ = ["STREAMS", "Destination", "EngineOptions", "RunReport", "SyncEngine", "fingerprint"]
