//! token-store backend: file (in progress).
