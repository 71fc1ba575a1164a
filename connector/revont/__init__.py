"""Everything that speaks to Revont: the client, its models, paging, signatures, sandbox."""

from connector.revont.client import DEFAULT_BASE_URL, RevontClient
from connector.revont.models import (
    ActionItem,
    Call,
    CallDetail,
    Contact,
    CreatedWebhook,
    Summary,
    TranscriptSegment,
    Webhook,
)
from connector.revont.pagination import InvalidRecord, Page
from connector.revont.signature import sign_body, verify_signature
from connector.revont.transport import RequestStats

__all__ = [
    "DEFAULT_BASE_URL",
    "ActionItem",
    "Call",
    "CallDetail",
    "Contact",
    "CreatedWebhook",
    "InvalidRecord",
    "Page",
    "RequestStats",
    "RevontClient",
    "Summary",
    "TranscriptSegment",
    "Webhook",
    "sign_body",
    "verify_signature",
]
