//! token-store backend: azure (in progress).
