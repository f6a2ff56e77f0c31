//! Interop with the Zoho Python SDK (in progress).
