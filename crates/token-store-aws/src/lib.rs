//! token-store backend: aws (in progress).
