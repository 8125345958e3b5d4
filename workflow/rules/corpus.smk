# corpus stage rules (see docs/ARCHITECTURE.md)
