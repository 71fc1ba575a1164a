"""revont-sync: keep a CRM in step with Revont calls, summaries and action items."""

__version__ = "0.1.0"
