"""SQLite storage: schema, migrations, repositories. The only package that opens SQLite."""
