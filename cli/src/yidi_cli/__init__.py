"""The operator's tools behind the `yidi` command: topics, the DLQ, relay and consumer lag,
projection rebuilds, clearing steps, imports and tokens. See docs/operations.md."""
