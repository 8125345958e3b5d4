# attention stage rules (see docs/ARCHITECTURE.md)
