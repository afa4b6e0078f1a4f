"""The domain and its storage: dataclasses, SQLite schema and migrations, linking, timeline."""
