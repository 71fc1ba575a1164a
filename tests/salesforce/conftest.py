"""Salesforce sandboxes on 127.0.0.1 and adapters pointed at them through simple-salesforce."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.salesforce import SalesforceAdapter, SalesforceConfig
from adapters.salesforce.sandbox import SalesforceSandbox

#: What the shipped Salesforce mapping writes: object -> (sObject, external-id field).
SHIPPED_OBJECTS = {
    "Contact": ("Contact", "Revont_Contact_Id__c"),
    "CallTask": ("Task", "Revont_Call_Id__c"),
    "ActionItemTask": ("Task", "Revont_Action_Item_Id__c"),
}


def salesforce_config(sf: SalesforceSandbox, auth: str = "access_token", **kw: Any) -> SalesforceConfig:
    kw.setdefault("max_attempts", 2)
    kw.setdefault("read_timeout", 10.0)
    kw.setdefault("bulk_poll_seconds", 0.2)
    credentials: dict[str, Any] = {
        "access_token": {"access_token": sf.access_token, "instance_url": sf.instance_url},
        "jwt": {
            "username": sf.username,
            "consumer_key": sf.consumer_key,
            "private_key": sf.private_key_pem,
        },
        "client_credentials": {
            "consumer_key": sf.consumer_key,
            "consumer_secret": sf.consumer_secret,
            "domain": "revont-sandbox.my",  # a My Domain; the session sends it to the sandbox
        },
    }[auth]
    return SalesforceConfig(auth=auth, sandbox_url=sf.url, **credentials, **kw)


@pytest.fixture
def make_salesforce() -> Iterator[Callable[..., SalesforceSandbox]]:
    started: list[SalesforceSandbox] = []

    def make(**kw: Any) -> SalesforceSandbox:
        kw.setdefault("bulk_delay_seconds", 0.1)
        sf = SalesforceSandbox(**kw).start()
        started.append(sf)
        return sf

    yield make
    for sf in started:
        sf.stop()


@pytest.fixture
def sf(make_salesforce: Callable[..., SalesforceSandbox]) -> SalesforceSandbox:
    return make_salesforce()


@pytest.fixture
def make_sf_adapter() -> Iterator[Callable[..., SalesforceAdapter]]:
    made: list[SalesforceAdapter] = []

    def make(sf: SalesforceSandbox, *, prepare: bool = True, **kw: Any) -> SalesforceAdapter:
        adapter = SalesforceAdapter(salesforce_config(sf, **kw))
        if prepare:
            adapter.prepare(SHIPPED_OBJECTS)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()
