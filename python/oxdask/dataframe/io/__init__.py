"""Reading and writing collections: CSV, Parquet, JSON, and in-memory data."""
