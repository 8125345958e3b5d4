# motifs stage rules (see docs/ARCHITECTURE.md)
