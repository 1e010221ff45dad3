"""The cloud database: migrations, the connection pool and the read queries."""
