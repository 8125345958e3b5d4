# annotations stage rules (see docs/ARCHITECTURE.md)
