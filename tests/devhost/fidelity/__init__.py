"""The fidelity suite: one module per Azure limit or behaviour devhost enforces (docs/devhost.md,
"Strict as Azure"), each showing the Azure behaviour, so that devhost cannot quietly become kinder."""
