//! token-store backends: SQLite and MySQL (in progress).
