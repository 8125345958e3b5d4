# pretrain stage rules (see docs/ARCHITECTURE.md)
