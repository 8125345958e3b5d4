# datasets stage rules (see docs/ARCHITECTURE.md)
