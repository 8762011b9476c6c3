"""The health watch: observe -> decide (pure) -> act, with its restart policy, persisted
state, events, metrics and hot reload of the config."""
