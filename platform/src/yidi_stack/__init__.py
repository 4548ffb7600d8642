"""Runs Yidi on one machine and gives tests real infrastructure."""
