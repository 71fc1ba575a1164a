"""A user's transform, shipped in their own package and registered by entry point."""

from connector.mapping.transforms import transform


@transform("shout", accepts=("str",), returns="str")
def shout(arg, options):
    """Upper-case and add exclamation marks (the argument: how many, default 1)."""
    marks = "!" * (arg or 1)
    return lambda value: value.upper() + marks
