"""Sync between the van and the hub: keys, bundles, ingest, hub service, client.

The van's append-only records go up exactly once (at-least-once delivery, an
idempotent ingest); master data and the van's plan come down as versioned
snapshots. HTTP batches and USB bundle files share one signed format
(:mod:`odekake.sync.bundle`).
"""
