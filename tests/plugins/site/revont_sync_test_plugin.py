"""A user's transform, shipped in their own package and registered by entry point."""

from connector.mapping.transforms import transform


@transform("shout", accepts=("str",), returns="str")
def shout(arg, options):
    """Upper-case and add exclamation marks (the argument: how many, default 1)."""
    marks = "!" * (arg or 1)
    return lambda value: value.upper() + marks


from adapters.base import AdapterConfig, CrmField  # noqa: E402


class TestCrmConfig(AdapterConfig):
    pass


class TestCrmAdapter:
    """A third-party adapter that reports its CRM's fields (nothing else, for the tests)."""

    name = "testcrm"
    config_model = TestCrmConfig

    @classmethod
    def describe_fields(cls, config):
        return {
            "Call": {
                "ext_id": CrmField("ext_id", max_length=40),
                "Subject": CrmField("Subject", max_length=80),
                "Status": CrmField("Status", type="picklist", picklist=frozenset({"Done"})),
                "Note": CrmField("Note"),
                "Must": CrmField("Must", required=True),
            }
        }
