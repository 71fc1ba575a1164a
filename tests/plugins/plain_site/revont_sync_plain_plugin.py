"""A plugin that registers a plain function instead of a transform."""


def plain(value):
    return value
