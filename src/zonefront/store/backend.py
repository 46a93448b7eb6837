"""Which store a configuration names: SQLite in data_dir (the default) or
PostgreSQL at store_dsn ([store] backend = "postgresql")."""
from __future__ import annotations

from .sqlite import Store


def open_store(config) -> Store:
    if getattr(config, "store_backend", "sqlite") == "postgresql":
        try:
            from .postgres import PostgresStore
        except ImportError as e:  # psycopg is only needed for this backend
            raise RuntimeError("[store] backend = \"postgresql\" needs psycopg 3: "
                               "pip install 'psycopg[binary]'") from e
        return PostgresStore(config.store_dsn)
    return Store(config.data_dir)
