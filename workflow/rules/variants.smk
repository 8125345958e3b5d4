# variants stage rules (see docs/ARCHITECTURE.md)
