"""Hitlens core: everything the dashboard and the CLI do, without any UI."""
