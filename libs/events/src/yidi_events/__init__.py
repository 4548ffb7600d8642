"""Shared event contracts and the event-sourcing runtime every Yidi service uses."""
