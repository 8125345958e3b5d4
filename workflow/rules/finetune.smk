# finetune stage rules (see docs/ARCHITECTURE.md)
