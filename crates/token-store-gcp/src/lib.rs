//! token-store backend: gcp (in progress).
