"""A plugin whose entry point names something that does not exist."""
