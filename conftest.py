"""Workspace-wide pytest setup: the real-infrastructure fixtures come from the yidi_stack plugin
(registered by its package entry point), so every test directory can ask for `infra`."""
