"""The sync engine: recipes (YAML data) run generically over the connectors, the queue and the ID map."""
