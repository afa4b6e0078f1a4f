"""The application shell: CLI, configuration, mail sources, sync engine, digest, service."""
