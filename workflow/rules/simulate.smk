# simulate stage rules (see docs/ARCHITECTURE.md)
