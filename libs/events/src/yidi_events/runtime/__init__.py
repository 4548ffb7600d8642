"""The moving parts every service runs: relay (store -> Kafka) and consumers (Kafka -> projection)."""
