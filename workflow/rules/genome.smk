# genome stage rules (see docs/ARCHITECTURE.md)
