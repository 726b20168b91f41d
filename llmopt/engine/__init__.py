"""The engine: the ask/evaluate/tell loop (driver), its ledger, where evaluations run, stop rules, the
run's settings and its journal and records."""
